"""The benchmark's phases in order, on one broker, and the figures they give.

1. pre-fill one topic with the realistic mix;
2. ``repeat`` times, interleaved so that machine noise hits them all alike: B0,
   B1, then a fresh real worker (new consumer group, new changelog) on the
   same topic from the start, and with ``--against`` the other checkout's worker
   beside it, the two in alternating order (:mod:`streams.bench.against`);
3. a worker under a steady background rate from a second process, with timed
   injections whose escalations give detection latency;
4. a worker that takes on one live state per broadcast of a large set (peak
   RSS), then a restarted worker of the same group restoring them from the
   changelog.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from localkafka import LocalBroker, free_port
from models.escalation import EventAction
from streams.bench import baselines
from streams.bench.against import OTHER, Checkout, other_checkout
from streams.bench.load import (
    create_topic,
    fill,
    one_per_broadcast,
    produced_at,
    realistic_mix,
    topic_messages,
)
from streams.bench.measured import BenchError, BenchWorker, Deployment
from streams.bench.options import BenchOptions
from streams.bench.summary import machine, percentiles_ms, summarise
from streams.kafka.clients import follow_escalations
from streams.tools.launch import SPIKEWATCH_WORKER

PARTITIONS = 4
Progress = Callable[[str], None]


class Bench:
    def __init__(
        self,
        options: BenchOptions,
        run_dir: Path,
        progress: Progress,
        other: Checkout | None = None,
    ) -> None:
        self.options = options
        self.run_dir = run_dir
        self.progress = progress
        self.other = other
        self.run_id = uuid.uuid4().hex[:8]
        self.bootstrap = options.bootstrap or ""
        self._workers: list[BenchWorker] = []

    def app_id(self, phase: str) -> str:
        return f"bench-{self.run_id}-{phase}"

    def deployment(self, phase: str, topic: str) -> Deployment:
        data_dir = self.run_dir / phase
        data_dir.mkdir(parents=True, exist_ok=True)
        return Deployment(
            bootstrap=self.bootstrap,
            app_id=self.app_id(phase),
            input_topic=topic,
            web_port=free_port(),
            data_dir=data_dir,
        )

    def start_worker(
        self,
        deployment: Deployment,
        log_name: str,
        command: Sequence[str] = SPIKEWATCH_WORKER,
    ) -> BenchWorker:
        worker = BenchWorker(deployment, self.run_dir / f"{log_name}.log", command)
        self._workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self._workers:
            worker.stop()

    async def throughput(self) -> dict[str, Any]:
        options = self.options
        topic = f"bench-{self.run_id}.reports"
        await create_topic(self.bootstrap, topic, PARTITIONS)
        self.progress(f"pre-filling {topic} with {options.reports:,} reports")
        began = time.perf_counter()
        mix = realistic_mix(
            reports=options.reports,
            broadcasts=options.broadcasts,
            seed=options.seed,
            end=time.time(),
        )
        await fill(self.bootstrap, topic, mix)
        fill_seconds = time.perf_counter() - began
        workers: dict[str, tuple[str, Sequence[str]]] = {
            "spikewatch": ("throughput", SPIKEWATCH_WORKER)
        }
        if self.other is not None:
            workers[OTHER] = ("against", self.other.worker_command)
        runs: dict[str, list[baselines.Throughput]] = {name: [] for name in ("b0", "b1", *workers)}
        changelog_writes: dict[str, list[int]] = {name: [] for name in workers}
        for rep in range(1, options.repeat + 1):
            for name, handler in (
                ("b0", baselines.ignore),
                ("b1", baselines.count_per_broadcast({})),
            ):
                runs[name].append(
                    await baselines.read_all(
                        self.bootstrap, topic, PARTITIONS, options.reports, handler
                    )
                )
            # The workers' order swaps each repetition, so neither always runs on a
            # warmer broker or page cache.
            order = list(workers) if rep % 2 else list(reversed(workers))
            for name in order:
                prefix, command = workers[name]
                phase = f"{prefix}{rep}"
                runs[name].append(await self._worker_rate(topic, phase, command))
                changelog_writes[name].append(
                    await topic_messages(
                        self.bootstrap,
                        f"{self.app_id(phase)}-broadcast-state-changelog",
                        PARTITIONS,
                    )
                )
            self.progress(
                f"repetition {rep}/{options.repeat}: "
                + ", ".join(
                    f"{name} {done[-1].reports_per_second:,.0f}/s" for name, done in runs.items()
                )
            )
        return {"fill_seconds": fill_seconds, "runs": runs, "changelog_writes": changelog_writes}

    async def _worker_rate(
        self, topic: str, phase: str, command: Sequence[str]
    ) -> baselines.Throughput:
        """Reports decided per second, from the worker's own counter, startup excluded.

        The rate is taken between the first scrape that saw progress and the one
        that saw the whole topic; if both fell in one scrape interval, from the
        last idle scrape instead (a lower bound, CPU then includes start-up).
        """
        expected = self.options.reports
        worker = self.start_worker(self.deployment(phase, topic), phase, command)
        samples: list[tuple[float, float, float]] = []

        def consumed_all() -> bool:
            count = worker.reports_received()
            samples.append((time.monotonic(), count, worker.cpu_seconds()))
            return count >= expected

        await worker.wait_until(consumed_all, f"{expected} reports decided", within=1800, poll=0.1)
        worker.stop()
        idle = [t for t, count, _ in samples if count == 0]
        busy = [sample for sample in samples if sample[1] > 0]
        (first_at, first_count, first_cpu), (last_at, last_count, last_cpu) = busy[0], busy[-1]
        if first_count < expected / 2 and last_at > first_at:
            timed = last_count - first_count
            return baselines.Throughput(
                timed / (last_at - first_at), (last_cpu - first_cpu) / timed
            )
        since = idle[-1] if idle else worker.started_at
        return baselines.Throughput(last_count / (last_at - since), last_cpu / last_count)

    async def latency(self) -> dict[str, Any]:
        options = self.options
        topic = f"bench-{self.run_id}-latency.reports"
        deployment = self.deployment("latency", topic)
        worker = self.start_worker(deployment, "latency")
        await worker.wait_until(worker.is_ready, "partition assignment", 120.0)
        self.progress(
            f"latency: {options.latency_rate:,.0f} reports/s background for "
            f"{options.latency_seconds:.0f} s"
        )
        received: list[tuple[float, float]] = []
        scrapes: list[float] = []
        async with (
            self._following(f"{deployment.app_id}.oncall.", received),
            _scraping(worker, options.scrape_every, scrapes),
        ):
            load = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "streams.bench.load",
                "--bootstrap",
                self.bootstrap,
                "--topic",
                topic,
                "--rate",
                str(options.latency_rate),
                "--seconds",
                str(options.latency_seconds),
                "--seed",
                str(options.seed),
                stdout=asyncio.subprocess.PIPE,
            )
            try:
                output, _ = await load.communicate()
            finally:
                if load.returncode is None:
                    load.kill()
                    await load.wait()
            if load.returncode != 0:
                raise BenchError("the latency load generator failed; its error is above")
            summary = orjson.loads(output)
            await worker.wait_until(
                lambda: worker.reports_received() >= summary["messages"],
                "the end of the latency load",
                1800,
            )
            await asyncio.sleep(1.0)
        pauses = worker.histogram_bound("spikewatch_gc_pause_seconds", 1.0)
        writes = worker.histogram_bound("spikewatch_state_write_seconds", 0.99)
        worker.stop()
        latencies = sorted(seen - sent for seen, sent in received)
        in_send_order = sorted(received, key=lambda pair: pair[1])
        return {
            "background_rate": options.latency_rate,
            "achieved_rate": summary["rate"],
            "injections": summary["injections"],
            "escalations": len(latencies),
            **percentiles_ms(latencies),
            "by_injection_ms": [round((seen - sent) * 1000, 1) for seen, sent in in_send_order],
            "scrape_every_s": options.scrape_every,
            "scrapes": len(scrapes),
            "scrape_median_ms": round(statistics.median(scrapes) * 1000, 1) if scrapes else None,
            "longest_gc_pause_at_most_s": pauses,
            "state_write_p99_at_most_s": writes,
        }

    @contextlib.asynccontextmanager
    async def _following(
        self, prefix: str, received: list[tuple[float, float]]
    ) -> AsyncIterator[None]:
        """Record (consumed at, produced at) for each trigger on an injected report."""

        async def follow() -> None:
            async for _topic, escalation in follow_escalations(
                self.bootstrap, prefix, from_beginning=True
            ):
                seen = time.time()
                if escalation.event_action is not EventAction.TRIGGER:
                    continue
                crossing = escalation.evidence.sample_report_ids[-1:]
                sent = produced_at(crossing[0]) if crossing else None
                if sent is not None:
                    received.append((seen, sent))

        async with _in_background(follow()):
            yield

    async def state(self) -> dict[str, Any]:
        count = self.options.state_broadcasts
        topic = f"bench-{self.run_id}-state.reports"
        await create_topic(self.bootstrap, topic, PARTITIONS)
        self.progress(f"state: {count:,} broadcasts, one live window each")
        await fill(
            self.bootstrap,
            topic,
            one_per_broadcast(broadcasts=count, seed=self.options.seed, at=time.time()),
        )
        deployment = self.deployment("state", topic)
        first = self.start_worker(deployment, "state")
        await first.wait_until(lambda: first.reports_received() >= count, "all states", 1800)
        peak_rss = first.peak_rss_bytes()
        first.stop()
        restarted = self.start_worker(deployment, "state-restarted")

        def restored() -> bool:
            health = restarted.health()
            return bool(health and int(health.get("broadcasts", 0)) >= count)

        restored_at = await restarted.wait_until(restored, "restored state", 600)
        restore_seconds = restored_at - restarted.started_at
        restarted_rss = restarted.peak_rss_bytes()
        restarted.stop()
        return {
            "broadcasts": count,
            "peak_rss_bytes": peak_rss,
            "restarted_peak_rss_bytes": restarted_rss,
            "restore_seconds": restore_seconds,
        }


PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
"""What Prometheus asks a target for: OpenMetrics (with the exemplars), which the client
library renders more slowly than the plain text format."""


@contextlib.asynccontextmanager
async def _scraping(worker: BenchWorker, every: float, took: list[float]) -> AsyncIterator[None]:
    """Read the worker's /metrics every ``every`` seconds, as Prometheus does, recording how
    long each read took; nothing when ``every`` is 0."""

    async def scrape() -> None:
        while True:
            await asyncio.sleep(every)
            started = time.perf_counter()
            await asyncio.to_thread(worker.get, "/metrics", 5.0, PROMETHEUS_ACCEPT)
            took.append(time.perf_counter() - started)

    if every <= 0:
        yield
        return
    async with _in_background(scrape()):
        yield


@contextlib.asynccontextmanager
async def _in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``work`` while the block runs; cancel it when the block ends."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def broker_for(bootstrap: str | None, run_dir: Path, progress: Progress) -> Iterator[str]:
    """The given broker, or a local one on free loopback ports for as long as the block runs."""
    if bootstrap:
        yield bootstrap
        return
    broker = LocalBroker.on_free_ports(run_dir / "kafka", heap="1g", timeout=180.0)
    progress("starting a local Kafka broker on free loopback ports")
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


async def _phases(bench: Bench) -> dict[str, Any]:
    throughput = await bench.throughput()
    latency = await bench.latency()
    state = await bench.state()
    return {"throughput": throughput, "latency": latency, "state": state}


def run_bench(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    """Run every phase; stop everything started, even on failure or Ctrl-C."""
    other = None if options.against is None else other_checkout(options.against)
    run_dir = Path(tempfile.mkdtemp(prefix="spikewatch-bench-"))
    started = machine()
    keep = True
    try:
        with broker_for(options.bootstrap, run_dir, progress) as bootstrap:
            bench = Bench(
                BenchOptions(**{**asdict(options), "bootstrap": bootstrap}),
                run_dir,
                progress,
                other,
            )
            try:
                measured = asyncio.run(_phases(bench))
            finally:
                bench.stop_workers()
        keep = False
    finally:
        if keep:
            progress(f"logs kept in {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return summarise(options, started, measured, other)
