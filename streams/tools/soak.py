"""``spikewatch soak``: a worker under steady traffic for a chosen time, watched.

Starts its own local broker (``deploy/kafka/local_broker.py``, free loopback
ports, wiped first) and one worker, sends synthetic traffic at ``--rate`` for
``--duration`` seconds, and prints the worker's resident memory, consumer lag,
reports counted and broadcasts tracked every ``--sample-every`` seconds. Then it
waits for the lag to drain, stops everything and writes a summary to
``.run/soak/summary.json``. Bounded memory shows as a flat RSS line once the
state has stopped growing by design (``--warm-up``, by default
:func:`warm_up_seconds` of the worker's policy); a worker that cannot keep up shows
as lag that only grows.

Not a test and not in CI: run it by hand (``./dev soak --duration 1200``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from alerting.policy import Policy
from localkafka import free_ports
from streams.settings import Settings
from streams.tools.demo import broker_command, stop_worker_and_broker
from streams.tools.launch import LaunchedWorker
from streams.tools.produce import ProducePlan, produce_traffic

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = REPO_ROOT / ".run" / "soak"
DRAIN_SECONDS = 60.0
MALFORMED_EVERY = 1000
WARM_UP_MARGIN_SECONDS = 40.0
"""Beyond the state's horizon: a few fetches and ticks for the last of it to settle."""
SLOW_COLLECTION_SECONDS = 0.25
"""A histogram bucket edge of ``spikewatch_gc_pause_seconds``: half the p99 latency target."""
FULL = 'generation="2"'


def warm_up_seconds(policy: Policy) -> float:
    """How long a broadcast's state keeps growing under steady traffic, plus a margin: its
    windows fill for their length and lateness, and its ramps' references hold each
    bucket for their lag after their opening. Judged from the windows alone, a ten-minute
    soak saw the references' pending sums still filling and read them as a leak."""
    window, ramp = policy.window, policy.ramp
    return (
        max(
            window.length_seconds + window.allowed_lateness_seconds,
            ramp.reference_opening_seconds + ramp.reference_lag_seconds,
        )
        + WARM_UP_MARGIN_SECONDS
    )


@dataclass(frozen=True, slots=True)
class SoakOptions:
    duration: float
    rate: float
    broadcasts: int
    sample_every: float
    warm_up: float


@dataclass(frozen=True, slots=True)
class Sample:
    elapsed_seconds: float
    rss_bytes: float
    lag_messages: float
    accepted: float
    broadcasts_tracked: float
    frozen_objects: float
    slow_full_collections: float
    """Full garbage collections that stopped the worker longer than the latency budget."""

    def line(self) -> str:
        return (
            f"t={self.elapsed_seconds:7.1f}s  rss={self.rss_bytes / 2**20:7.1f} MiB  "
            f"lag={self.lag_messages:8.0f}  accepted={self.accepted:9.0f}  "
            f"tracked={self.broadcasts_tracked:7.0f}  frozen={self.frozen_objects:9.0f}  "
            f"gc>{SLOW_COLLECTION_SECONDS}s={self.slow_full_collections:.0f}"
        )


def run_soak(options: SoakOptions) -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    kafka_dir = RUN_DIR / "kafka"
    web_port, kafka_port, controller_port = free_ports(3)
    broker_command("wipe", kafka_dir)
    broker_command(
        "start", kafka_dir, "--port", str(kafka_port), "--controller-port", str(controller_port)
    )
    settings = Settings(
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        app_id="spikewatch-soak",
        web_port=web_port,
        data_dir=RUN_DIR / "worker",
    )
    worker = _start_worker(settings)
    try:
        worker.wait_ready()
        samples = asyncio.run(_traffic_and_samples(settings, options, worker))
    finally:
        stop_worker_and_broker(worker, kafka_dir)
    return _summarise(samples, options, worker.process.returncode)


async def _traffic_and_samples(
    settings: Settings, options: SoakOptions, worker: LaunchedWorker
) -> list[Sample]:
    plan = ProducePlan(
        rate=options.rate,
        duration=options.duration,
        broadcasts=options.broadcasts,
        surge_at=None,
        malformed_every=MALFORMED_EVERY,
        seed=11,
    )
    started = time.monotonic()
    traffic = asyncio.create_task(produce_traffic(settings, plan))
    samples: list[Sample] = []
    drain_until: float | None = None
    while worker.process.poll() is None:
        await asyncio.sleep(options.sample_every)
        sample = await asyncio.to_thread(_sample, settings.web_port, time.monotonic() - started)
        samples.append(sample)
        print(sample.line(), flush=True)
        if traffic.done() and drain_until is None:
            drain_until = time.monotonic() + DRAIN_SECONDS
            print(f"traffic done ({traffic.result()} messages); draining", flush=True)
        if drain_until is not None and (sample.lag_messages == 0 or time.monotonic() > drain_until):
            break
    if not traffic.done():
        traffic.cancel()
    return samples


def _summarise(samples: list[Sample], options: SoakOptions, worker_exit: int | None) -> int:
    settled = [s for s in samples if s.elapsed_seconds >= options.warm_up]
    peak_rss = max((s.rss_bytes for s in samples), default=0.0)
    growth = settled[-1].rss_bytes - settled[0].rss_bytes if len(settled) > 1 else None
    final_lag = samples[-1].lag_messages if samples else None
    summary = {
        "options": asdict(options),
        "samples": [asdict(s) for s in samples],
        "peak_rss_bytes": peak_rss,
        "rss_growth_after_warm_up_bytes": growth,
        "final_lag_messages": final_lag,
        "worker_exit_code": worker_exit,
    }
    (RUN_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    settled_growth = "n/a (run shorter than the warm-up)"
    if growth is not None:
        settled_growth = f"{growth / 2**20:+.1f} MiB"
    print(
        f"peak rss {peak_rss / 2**20:.1f} MiB, growth after the {options.warm_up:.0f} s warm-up "
        f"{settled_growth}, final lag {final_lag}; summary in {RUN_DIR / 'summary.json'}",
        flush=True,
    )
    crashed = worker_exit not in (None, 0, -signal.SIGTERM)
    return 1 if crashed or final_lag != 0 else 0


def _sample(web_port: int, elapsed: float) -> Sample:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=10) as response:
        return sample_from(response.read().decode(), elapsed)


def sample_from(text: str, elapsed: float) -> Sample:
    """One line of the soak from the worker's Prometheus text exposition."""
    return Sample(
        elapsed_seconds=elapsed,
        rss_bytes=_metric(text, "process_resident_memory_bytes"),
        lag_messages=_metric(text, "spikewatch_consumer_lag_messages"),
        accepted=_metric(text, "spikewatch_reports_received_total", 'outcome="accepted"'),
        broadcasts_tracked=_metric(text, "spikewatch_broadcasts_tracked"),
        frozen_objects=_metric(text, "spikewatch_gc_frozen_objects"),
        slow_full_collections=_metric(text, "spikewatch_gc_pause_seconds_count", FULL)
        - _metric(
            text, "spikewatch_gc_pause_seconds_bucket", f'{FULL},le="{SLOW_COLLECTION_SECONDS}"'
        ),
    )


def _metric(text: str, name: str, label: str = "") -> float:
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and label in series:
            total += float(value)
    return total


def _start_worker(settings: Settings) -> LaunchedWorker:
    env = {
        **os.environ,
        "SPIKEWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SPIKEWATCH_APP_ID": settings.app_id,
        "SPIKEWATCH_WEB_PORT": str(settings.web_port),
        "SPIKEWATCH_DATA_DIR": str(settings.data_dir),
    }
    return LaunchedWorker(env, RUN_DIR / "worker.log", settings.web_port)
