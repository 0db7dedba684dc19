"""The decision core timed in-process, without Kafka (``spikewatch bench --core``).

Why: through Kafka and Faust a worker's CPU a report moves by several percent from
one repetition to the next, more than a change to the core's memory layout is worth
on its own; the core's own time and memory show it plainly. This runs the
``--instructions`` workload (:func:`streams.bench.instructions.work`: decode,
pipeline, core, the states encoded after every fetch) in a child process per run and
reports, for each, the CPU a report (``time.process_time`` around the work, the
collector on, as in the worker) and, in a run of its own because tracing slows the
work down, the live memory a broadcast's state holds once the work is done
(``tracemalloc``: every block still allocated, over the broadcasts in the pipelines'
caches).

With ``--against CHECKOUT`` each run is paired with one in the other checkout, the
order swapped from one pair to the next, on the same traffic: the child runs with the
other checkout's interpreter and code, so it must have the workload module (every
commit with ``--instructions`` has). Its traffic is its own generator's on the same
settings, which is the same traffic as long as the generator did not change between
the two commits (the figures name both commits).
"""

from __future__ import annotations

import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streams.bench.against import Checkout
from streams.bench.measured import BenchError

WORKLOAD = Path("streams") / "bench" / "instructions.py"
"""Where a checkout keeps the workload this times."""

_CHILD = """
import gc, sys, time, tracemalloc, orjson
from alerting.policy import load_policy
from streams.bench.instructions import traffic, work
from streams.logs import configure_logging
import streams.worker.state_cache as state_cache

configure_logging("error")
reports, broadcasts, fetch = (int(arg) for arg in sys.argv[1:4])
messages, policy = traffic(reports, broadcasts), load_policy()
gc.collect()
started = time.process_time()
work(messages, fetch, policy)
cpu = time.process_time() - started
caches = []
keep = state_cache.BroadcastStates.__init__
def kept(self, *args, **kwargs):
    keep(self, *args, **kwargs)
    caches.append(self)
state_cache.BroadcastStates.__init__ = kept
gc.collect()
tracemalloc.start()
table = work(messages, fetch, policy)
del table
gc.collect()
live = tracemalloc.get_traced_memory()[0]
states = sum(len(cache._cache) for cache in caches)
figures = {"cpu_us_per_report": cpu / reports * 1e6, "live_bytes_per_broadcast": live / states}
print(orjson.dumps(figures).decode())
"""
"""The child's program. The second run keeps every pipeline's broadcast states (the
workload drops them when it returns) to weigh them with everything else still
allocated: the table of stored records is dropped first."""


@dataclass(frozen=True, slots=True)
class CoreRun:
    cpu_us_per_report: float
    live_bytes_per_broadcast: float


def core_run(python: Path, checkout: Path, reports: int, broadcasts: int, fetch: int) -> CoreRun:
    """One child run of the workload with ``python`` in ``checkout``."""
    if not (checkout / WORKLOAD).exists():
        raise BenchError(
            f"--core: {checkout} has no {WORKLOAD} (a commit older than --instructions); "
            "compare it with --against on the worker instead"
        )
    done = subprocess.run(
        [str(python), "-c", _CHILD, str(reports), str(broadcasts), str(fetch)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(checkout)},
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"--core: the run in {checkout} failed: {last}")
    figures = orjson.loads(done.stdout.strip().splitlines()[-1])
    return CoreRun(figures["cpu_us_per_report"], figures["live_bytes_per_broadcast"])


def core_figures(
    this: Checkout,
    other: Checkout | None,
    *,
    reports: int,
    broadcasts: int,
    fetch: int,
    repeat: int,
) -> dict[str, Any]:
    """``repeat`` runs of this checkout (and of ``other``, paired and alternated); their
    medians, and this one's figures over the other's pair by pair and their median."""
    ours: list[CoreRun] = []
    theirs: list[CoreRun] = []
    order: list[tuple[Checkout, list[CoreRun]]] = [(this, ours)]
    if other is not None:
        order.append((other, theirs))
    for repetition in range(repeat):
        for checkout, runs in order if repetition % 2 == 0 else reversed(order):
            runs.append(core_run(checkout.python, checkout.path, reports, broadcasts, fetch))
    figures: dict[str, Any] = {
        "reports": reports,
        "broadcasts": broadcasts,
        "fetch": fetch,
        "commit": this.commit,
        **_medians(ours),
    }
    if other is not None:
        figures["other"] = {"checkout": str(other.path), "commit": other.commit, **_medians(theirs)}
        for name in ("cpu_us_per_report", "live_bytes_per_broadcast"):
            ratios = [
                getattr(a, name) / getattr(b, name) for a, b in zip(ours, theirs, strict=True)
            ]
            figures[f"{name}_over_other_runs"] = ratios
            figures[f"{name}_over_other"] = statistics.median(ratios)
    return figures


def _medians(runs: list[CoreRun]) -> dict[str, Any]:
    return {
        "cpu_us_per_report_runs": [run.cpu_us_per_report for run in runs],
        "cpu_us_per_report": statistics.median(run.cpu_us_per_report for run in runs),
        "live_bytes_per_broadcast": statistics.median(run.live_bytes_per_broadcast for run in runs),
    }


def core_lines(figures: dict[str, Any]) -> list[str]:
    """The figures as the terminal prints them."""
    lines = [
        f"decision core in-process ({figures['reports']:,} reports over "
        f"{figures['broadcasts']:,} broadcasts, fetches of {figures['fetch']:,}; medians):",
        _line(figures["commit"], figures),
    ]
    other = figures.get("other")
    if other is not None:
        lines.append(_line(f"{other['commit']} (--against)", other))
        runs = ", ".join(f"{ratio:.2f}" for ratio in figures["cpu_us_per_report_over_other_runs"])
        lines.append(
            f"over --against: CPU {figures['cpu_us_per_report_over_other']:.2f} (pair by pair "
            f"{runs}), live memory {figures['live_bytes_per_broadcast_over_other']:.2f}"
        )
    return lines


def _line(name: str, figures: dict[str, Any]) -> str:
    return (
        f"  {name}: {figures['cpu_us_per_report']:.1f} µs CPU a report, "
        f"{figures['live_bytes_per_broadcast']:,.0f} bytes live a broadcast"
    )
