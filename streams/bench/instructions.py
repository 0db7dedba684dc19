"""Instructions per report: the worker's per-report work without Kafka, counted by
callgrind, a figure that does not move with the machine's load.

Wall-clock figures on a shared machine move by tens of percent between identical runs.
The instructions the same work executes move only with what the run does not fix:
string hashing (it decides how dictionaries probe, a couple of percent here) and
where the traffic's times fall in the window's buckets. Both are pinned: the child
runs with ``PYTHONHASHSEED=0`` and the traffic ends on a whole hour. This counts what the
worker does for a report once Kafka has handed it over (decode, pipeline, decision core,
state encoding after every fetch), on the benchmark's own traffic, in fetches as the
worker takes them. It needs valgrind (Debian's ``valgrind`` package): ``spikewatch bench
--instructions``.

How only the measured part is counted: the workload runs through ``exec`` and callgrind
collects only inside the interpreter's ``builtin_exec`` (:func:`child`). Python runs
every imported module's code through ``exec`` too, so imports are collected as well;
they are the same for both sizes of the run and drop out of the difference, as does
everything else a run does once.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alerting.engine import DetectionEngine
from alerting.policy import Policy, load_policy
from streams.bench.load import realistic_mix
from streams.bench.measured import BenchError
from streams.logs import configure_logging
from streams.replay.session import file_messages
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.state_cache import BroadcastStates
from streams.worker.watchlist_file import policy_watchlist

PARTITIONS = 4
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class InstructionCount:
    """Instructions for ``reports`` and for twice as many: their difference per report is
    what one more report costs, free of what any run costs once (the first use of a
    validator, a module imported on first call, the metrics registry)."""

    reports: int
    broadcasts: int
    fetch: int
    instructions: int
    instructions_doubled: int

    @property
    def per_report(self) -> float:
        return (self.instructions_doubled - self.instructions) / self.reports


def traffic(reports: int, broadcasts: int) -> list[InputMessage]:
    """The benchmark's traffic (seed 7), spread over the input topic's partitions, ending
    on the latest whole hour: recent, as the worker's admission wants, and falling in the
    same buckets from run to run."""
    end = time.time() // 3600 * 3600
    values = [v for _, v in realistic_mix(reports=reports, broadcasts=broadcasts, seed=7, end=end)]
    return list(file_messages(values, PARTITIONS, "bench"))


def work(messages: list[InputMessage], fetch: int, policy: Policy) -> dict[bytes, bytes]:
    """What the worker does with ``messages`` in fetches of ``fetch``: each partition's
    pipeline decides its part, then encodes the states it touched, as the worker does.
    Returns the state table as the last fetch left it."""
    engine = DetectionEngine(policy, watchlist=policy_watchlist(policy))
    metrics = WorkerMetrics(policy.teams)
    table: dict[bytes, bytes] = {}
    pipelines: dict[int, ReportPipeline] = {}
    for start in range(0, len(messages), fetch):
        by_partition: dict[int, list[InputMessage]] = {}
        for message in messages[start : start + fetch]:
            by_partition.setdefault(message.partition, []).append(message)
        for partition, part in by_partition.items():
            pipeline = pipelines.get(partition)
            if pipeline is None:
                states = BroadcastStates(table, _constant(partition), durable=True)
                pipeline = pipelines[partition] = ReportPipeline(
                    engine,
                    states,
                    metrics,
                    max_message_bytes=1_000_000,
                    max_future_skew_seconds=0.0,
                    live=False,
                )
            pipeline.save(pipeline.process(part))
    return table


def _constant(partition: int) -> Callable[[bytes], int]:
    """Every key of a pipeline's states is in its own partition."""
    return lambda _key: partition


def totals(callgrind_output: str) -> int:
    """The instructions a callgrind output file counted in all."""
    found = _TOTALS.search(callgrind_output)
    if found is None:
        raise BenchError("callgrind wrote no totals; see its output above")
    return int(found.group(1))


def count_instructions(reports: int, broadcasts: int, fetch: int) -> InstructionCount:
    """Run :func:`work` under callgrind in child processes, for ``reports`` and twice as
    many, and count their instructions."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise BenchError("valgrind is not installed; apt-get install valgrind, then run again")
    once, doubled = (
        _callgrind(valgrind, count, broadcasts, fetch) for count in (reports, 2 * reports)
    )
    return InstructionCount(reports, broadcasts, fetch, once, doubled)


def _callgrind(valgrind: str, reports: int, broadcasts: int, fetch: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "callgrind.out"
        command = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={output}",
            "--toggle-collect=builtin_exec",
            sys.executable,
            "-c",
            "from streams.bench.instructions import child; child()",
            str(reports),
            str(broadcasts),
            str(fetch),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if done.returncode != 0 or not output.exists():
            sys.stderr.write(done.stderr[-4000:])
            raise BenchError(f"callgrind exited with status {done.returncode}; see above")
        return totals(output.read_text())


def child() -> None:
    """The counted process: ``-c``, not ``-m``, because ``runpy`` runs a module through
    ``exec`` too, and callgrind would count the whole process."""
    parser = argparse.ArgumentParser(description="the workload callgrind counts")
    parser.add_argument("reports", type=int)
    parser.add_argument("broadcasts", type=int)
    parser.add_argument("fetch", type=int)
    args = parser.parse_args()
    configure_logging("error")
    messages = traffic(args.reports, args.broadcasts)
    namespace = {"work": work, "messages": messages, "fetch": args.fetch, "policy": load_policy()}
    exec("work(messages, fetch, policy)", namespace)  # noqa: S102 - the span callgrind collects in
