"""``spikewatch notify-bench``: delivery latency of ``spikewatch notify``, measured.

Runs ``spikewatch notify`` as its own process on a broker (a local one unless
``--bootstrap``), with one PagerDuty sink pointed at a local receiver that
answers ``202`` at once, then writes escalations at the demo's pace and in a
burst. Latency is from an escalation's ``detected_at`` (stamped when it is
written to Kafka) to its arrival at the receiver: Kafka, notify's consumer,
payload building and the HTTP request, without any time a real sink would add.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web

from localkafka import free_port
from models.escalation import EscalationClass, EscalationLabels, EventAction, Severity
from models.escalation_v2 import CategoryEvidence, EscalationV2, EvidenceV2, TrustMix
from models.report import Category
from streams.bench.load import create_topic
from streams.bench.run import broker_for
from streams.bench.summary import machine, percentiles_ms
from streams.kafka.clients import producer
from streams.notify.local_http import BackgroundHttpServer

Progress = Callable[[str], None]
TEAM = "bench"
ROUTING_KEY = "B3NCHR0UT1NGKEY0123456789abcdef0"
PARTITIONS = 4


@dataclass(frozen=True, slots=True)
class NotifyBenchOptions:
    demo_rate: float = 2.0
    demo_seconds: float = 20.0
    burst_rate: float = 1000.0
    burst_seconds: float = 5.0
    bootstrap: str | None = None


def bench_escalation(number: int, run: str) -> EscalationV2:
    """A trigger of its own incident, ``detected_at`` now (its latency starts here)."""
    now = datetime.now(UTC)
    category = Category.HARASSMENT
    return EscalationV2(
        event_id=str(uuid.uuid4()),
        dedup_key=f"spikewatch:bench-{run}-{number}:{TEAM}:1",
        sequence=1,
        event_action=EventAction.TRIGGER,
        severity=Severity.ERROR,
        escalation_class=EscalationClass.REPORT_SPIKE,
        summary=f"report_spike on broadcast bench-{number}",
        labels=EscalationLabels(broadcast_id=f"bench-{number}", category=category, team=TEAM),
        evidence=EvidenceV2(
            reports=12,
            distinct_reporters=9,
            weighted_reporters=8.5,
            viewers=1200,
            expected_reports=0.4,
            window_start=now,
            window_end=now,
            leading_category=category,
            categories=[
                CategoryEvidence(
                    category=category,
                    reports=12,
                    distinct_reporters=9,
                    weighted_reporters=8.5,
                    expected_reports=0.4,
                )
            ],
            trust_mix=TrustMix(trusted=0.1, ordinary=0.8, suspect=0.1, unknown=0.0),
            coordinated_share=0.0,
            sample_report_ids=[],
            rules=[],
        ),
        detected_at=now,
        starts_at=now,
        policy_version="bench",
    )


class Receiver:
    """Answers 202 at once and keeps each event's latency from its ``payload.timestamp``."""

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self.server = BackgroundHttpServer(app)
        self.latencies: dict[str, float] = {}
        self._lock = threading.Lock()

    def count(self) -> int:
        with self._lock:
            return len(self.latencies)

    def latencies_of(self, dedup_keys: list[str]) -> list[float]:
        with self._lock:
            return [self.latencies[key] for key in dedup_keys]

    async def _enqueue(self, request: web.Request) -> web.Response:
        event = orjson.loads(await request.read())
        arrived = datetime.now(UTC)
        detected = datetime.fromisoformat(event["payload"]["timestamp"])
        with self._lock:
            self.latencies.setdefault(event["dedup_key"], (arrived - detected).total_seconds())
        return web.json_response({"status": "success", "dedup_key": event["dedup_key"]}, status=202)


async def _send_paced(
    bootstrap: str, topic: str, rate: float, seconds: float, run: str, first: int
) -> int:
    """Write ``rate`` escalations a second for ``seconds``; each stamped as it is written."""
    total = int(rate * seconds)
    started = time.monotonic()
    async with producer(bootstrap) as client:
        for offset in range(total):
            due = started + offset / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            escalation = bench_escalation(first + offset, run)
            await client.send(topic, escalation.to_json_bytes(), key=escalation.dedup_key.encode())
    return total


def _wait_for(receiver: Receiver, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while receiver.count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"notify delivered {receiver.count()} of {count} escalations")
        time.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(
    receiver: Receiver, numbers: range, run: str, cpu_seconds: float, wall_seconds: float
) -> dict[str, Any]:
    """Latency percentiles, and notify's CPU per escalation (machine load does not move it)."""
    latencies = receiver.latencies_of([f"spikewatch:bench-{run}-{n}:{TEAM}:1" for n in numbers])
    return {
        "escalations": len(latencies),
        **percentiles_ms(latencies),
        "delivered_per_second": round(len(latencies) / wall_seconds, 1),
        "notify_cpu_us_per_escalation": round(cpu_seconds / len(latencies) * 1e6, 1),
    }


def run_notify_bench(options: NotifyBenchOptions, progress: Progress) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix="spikewatch-notify-bench-"))
    run = uuid.uuid4().hex[:8]
    prefix = f"oncall-bench-{run}."
    topic = f"{prefix}{TEAM}"
    receiver = Receiver()
    receiver.server.start()
    sinks = run_dir / "sinks.yaml"
    sinks.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "sinks": [
                    {
                        "name": "pagerduty",
                        "type": "pagerduty",
                        "url": f"{receiver.server.url}/v2/enqueue",
                        "routes": {TEAM: {"routing_key_env": "SPIKEWATCH_BENCH_ROUTING_KEY"}},
                    }
                ],
            }
        )
    )
    figures: dict[str, Any] = {
        "machine": machine(),
        "options": {key: value for key, value in asdict(options).items() if key != "bootstrap"},
    }
    try:
        with broker_for(options.bootstrap, run_dir, progress) as bootstrap:
            asyncio.run(create_topic(bootstrap, topic, PARTITIONS))
            web_port = free_port()
            log = (run_dir / "notify.log").open("wb")
            notify = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "notify"],
                cwd=Path(__file__).resolve().parents[2],
                env={
                    **os.environ,
                    "SPIKEWATCH_KAFKA_BOOTSTRAP": bootstrap,
                    "SPIKEWATCH_ONCALL_TOPIC_PREFIX": prefix,
                    "SPIKEWATCH_ACK_TOPIC": f"acks-bench-{run}",
                    "SPIKEWATCH_NOTIFY_DEAD_LETTER_TOPIC": f"notify-dlq-bench-{run}",
                    "SPIKEWATCH_NOTIFY_SINKS_FILE": str(sinks),
                    "SPIKEWATCH_NOTIFY_WEB_PORT": str(web_port),
                    "SPIKEWATCH_TOPIC_PARTITIONS": str(PARTITIONS),
                    "SPIKEWATCH_LOG_LEVEL": "warning",
                    "SPIKEWATCH_BENCH_ROUTING_KEY": ROUTING_KEY,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                progress("notify starting; warming up with one escalation")
                asyncio.run(_send_paced(bootstrap, topic, 1.0, 1.0, run, 0))
                _wait_for(receiver, 1, 90)
                progress(f"demo load: {options.demo_rate:g}/s for {options.demo_seconds:g} s")
                cpu, wall = _cpu_seconds(notify.pid), time.monotonic()
                sent = asyncio.run(
                    _send_paced(bootstrap, topic, options.demo_rate, options.demo_seconds, run, 1)
                )
                _wait_for(receiver, 1 + sent, 60)
                figures["demo_load"] = _phase(
                    receiver,
                    range(1, 1 + sent),
                    run,
                    _cpu_seconds(notify.pid) - cpu,
                    time.monotonic() - wall,
                )
                progress(f"burst: {options.burst_rate:g}/s for {options.burst_seconds:g} s")
                first = 1 + sent
                cpu, wall = _cpu_seconds(notify.pid), time.monotonic()
                burst = asyncio.run(
                    _send_paced(
                        bootstrap, topic, options.burst_rate, options.burst_seconds, run, first
                    )
                )
                _wait_for(receiver, first + burst, 300)
                figures["burst"] = _phase(
                    receiver,
                    range(first, first + burst),
                    run,
                    _cpu_seconds(notify.pid) - cpu,
                    time.monotonic() - wall,
                )
            finally:
                notify.terminate()
                notify.wait(30)
                log.close()
    finally:
        receiver.server.stop()
    return figures
