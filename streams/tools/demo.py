"""``spikewatch demo``: everything on one machine, narrated for a person.

Starts the local Kafka broker (``deploy/kafka/local_broker.py``) and a worker,
sends benign background traffic (including a viral broadcast that must not
page), then an abuse surge on a small broadcast, a single trusted child-safety
report and a few malformed messages, and prints each escalation as it arrives.
The incident console runs beside the worker: open the URL it prints to watch
the incidents arrive, acknowledge them and record verdicts. The pages also show
where on-call would see them: in a real Alertmanager fed by ``spikewatch notify``
(see :mod:`streams.tools.demo_pages`), its UI URL printed. The demo policy is
the default one with a 25-second quiet period and a 30-second window, so incidents
also resolve while you watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from alerting.policy import Policy, load_policy
from models.report import Category
from streams.kafka.clients import follow_escalations, producer
from streams.replay.traffic import TrafficGenerator, paced
from streams.tools.demo_pages import DemoPages, PagesUnavailableError, start_pages
from streams.tools.launch import LaunchedWorker, answers, owns_partitions
from streams.tools.render import describe

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = REPO_ROOT / ".run" / "demo"
DEMO_QUIET_SECONDS = 25.0
DEMO_ALLOWED_LATENESS_SECONDS = 5.0
"""The demo's own reports are never late; a short lateness keeps the resolve in view."""
DEMO_RESOLVE_SECONDS = DEMO_QUIET_SECONDS + DEMO_ALLOWED_LATENESS_SECONDS
DEMO_WINDOW_SECONDS, DEMO_BUCKET_SECONDS = DEMO_RESOLVE_SECONDS, 5.0
"""A window no longer than the quiet period and lateness, as the policy requires: with the
default five minutes, the surge's reporters would still count when its incident resolves,
and the broadcast's next report would page for it again."""
SURGE_AT, CHILD_SAFETY_AT, MALFORMED_AT = 12.0, 30.0, 40.0
SURGE_REPORTERS, SURGE_SPREAD_SECONDS = 10, 5.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration: float
    rate: float
    kafka_port: int
    web_port: int
    console_port: int = 18086
    alertmanager_port: int = 19095
    """Beside the broker (19092) and its controller (19093)."""


def say(started: float, text: str) -> None:
    print(f"[{time.time() - started:6.1f}s] {text}", flush=True)


async def run_demo(options: DemoOptions) -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    kafka_dir = RUN_DIR / "kafka"
    bootstrap = f"127.0.0.1:{options.kafka_port}"
    _write_demo_policy()
    started = time.time()
    broker_command("wipe", kafka_dir)
    say(started, f"starting Kafka on {bootstrap} (first run downloads the broker jars) ...")
    broker_command(
        "start",
        kafka_dir,
        "--port",
        str(options.kafka_port),
        "--controller-port",
        str(options.kafka_port + 1),
    )
    worker = _start(
        "worker", options.web_port, _demo_env(bootstrap, SPIKEWATCH_WEB_PORT=str(options.web_port))
    )
    console = _start(
        "console",
        options.console_port,
        _demo_env(bootstrap, SPIKEWATCH_CONSOLE_PORT=str(options.console_port)),
        ready_when=answers,
    )
    pages: DemoPages | None = None
    try:
        say(started, f"worker starting; metrics on http://127.0.0.1:{options.web_port}/metrics")
        await worker.wait_until(worker.is_ready, "partition assignment", 90.0)
        say(
            started,
            f"incident console: http://127.0.0.1:{options.console_port}/ "
            "(open it: incidents appear live; acknowledge one and record a verdict)",
        )
        pages = _start_pages(bootstrap, options, started)
        say(started, "worker ready; sending background traffic")
        tally: dict[str, int] = {}
        follower = asyncio.create_task(_print_escalations(bootstrap, started, tally))
        await asyncio.sleep(2.0)
        await _send_traffic(bootstrap, options, started)
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        say(
            started,
            "done: "
            + (", ".join(f"{n} {a}" for a, n in sorted(tally.items())) or "no escalations"),
        )
        say(started, _dead_letters_line(worker.metrics_text()))
    finally:
        if pages is not None:
            pages.stop()
        console.stop()
        stop_worker_and_broker(worker, kafka_dir)
        say(
            started,
            f"stopped console, worker and broker; logs: {RUN_DIR / 'worker.log'}, "
            f"{RUN_DIR / 'console.log'}",
        )
    return 0


def _dead_letters_line(metrics: str) -> str:
    """What the worker dead-lettered, from its own counter: the demo sends malformed
    messages and says where they go, and this is where a person sees they went there."""
    reasons = {
        sample.labels["reason"]: int(sample.value)
        for family in text_string_to_metric_families(metrics)
        if family.name == "spikewatch_dead_letters"
        for sample in family.samples
        if sample.name == "spikewatch_dead_letters_total" and sample.value
    }
    if not reasons:
        return "dead letters: none"
    by_reason = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    return f"dead letters: {sum(reasons.values())} on broadcast-reports.dlq ({by_reason})"


def _start_pages(bootstrap: str, options: DemoOptions, started: float) -> DemoPages | None:
    """Alertmanager and notify; the demo goes on without them if they cannot start."""
    try:
        pages = start_pages(
            RUN_DIR,
            bootstrap,
            RUN_DIR / "policy.yaml",
            options.alertmanager_port,
            options.web_port + 2,
        )
    except PagesUnavailableError as error:
        say(started, f"pages not shown: {error}")
        return None
    say(started, f"pages go to Alertmanager: open {pages.ui_url} (spikewatch notify delivers them)")
    return pages


def demo_policy() -> Policy:
    """The default policy with the demo's short quiet period, lateness and window,
    validated (a pydantic copy is not, and the worker would refuse an invalid file)."""
    document = load_policy().model_dump(mode="json")
    document["policy_version"] = f"{document['policy_version']}-demo"
    document["lifecycle"]["resolve_after_quiet_seconds"] = DEMO_QUIET_SECONDS
    document["window"].update(
        allowed_lateness_seconds=DEMO_ALLOWED_LATENESS_SECONDS,
        length_seconds=DEMO_WINDOW_SECONDS,
        bucket_seconds=DEMO_BUCKET_SECONDS,
    )
    return Policy.model_validate(document)


def _write_demo_policy() -> None:
    path = RUN_DIR / "policy.yaml"
    path.write_text(yaml.safe_dump(orjson.loads(demo_policy().model_dump_json())), encoding="utf-8")


def stop_worker_and_broker(worker: LaunchedWorker, kafka_dir: Path) -> None:
    worker.stop()
    broker_command("stop", kafka_dir)


def broker_command(command: str, data_dir: Path, *options: str) -> None:
    """Run the local broker's command line: ``python -m localkafka COMMAND --data-dir DIR``."""
    result = subprocess.run(
        [sys.executable, "-m", "localkafka", command, "--data-dir", str(data_dir), *options],
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"error: local broker '{command}' failed; see {data_dir}/logs")


def _demo_env(bootstrap: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SPIKEWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "SPIKEWATCH_APP_ID": "spikewatch-demo",
        "SPIKEWATCH_DATA_DIR": str(RUN_DIR / "worker"),
        "SPIKEWATCH_POLICY_FILE": str(RUN_DIR / "policy.yaml"),
        "SPIKEWATCH_TICK_INTERVAL_SECONDS": "0.5",
        **extra,
    }


def _start(
    command: str,
    port: int,
    env: dict[str, str],
    ready_when: Callable[[dict[str, Any]], bool] = owns_partitions,
) -> LaunchedWorker:
    """``spikewatch COMMAND`` in the background, its output in ``.run/demo/COMMAND.log``."""
    return LaunchedWorker(
        env,
        RUN_DIR / f"{command}.log",
        port,
        command=(sys.executable, "-m", "streams.cli", command),
        ready_when=ready_when,
    )


async def _print_escalations(bootstrap: str, started: float, tally: dict[str, int]) -> None:
    async for topic, escalation in follow_escalations(bootstrap, "oncall.", from_beginning=True):
        action = escalation.event_action.value
        tally[action] = tally.get(action, 0) + 1
        say(started, describe(topic, escalation))


async def _send_traffic(bootstrap: str, options: DemoOptions, started: float) -> None:
    generator = TrafficGenerator(rate_per_second=options.rate)
    viral, small = generator.largest(), generator.smallest()
    say(
        started,
        f"viral broadcast {viral.broadcast_id} has {viral.viewers} viewers: "
        "its many reports are normal for its audience and must not page",
    )
    trusted_target = generator.smallest(rank=3)
    surge = [SURGE_AT + i * SURGE_SPREAD_SECONDS / SURGE_REPORTERS for i in range(SURGE_REPORTERS)]
    begin = time.time()
    end = float("inf") if options.duration <= 0 else begin + options.duration
    announced: set[str] = set()
    async with producer(bootstrap) as client:
        for due in paced(options.rate, begin):
            if due >= end:
                break
            await asyncio.sleep(max(0.0, due - time.time()))
            now = time.time()
            elapsed = now - begin
            if surge and elapsed >= surge[0]:
                if "surge" not in announced:
                    announced.add("surge")
                    say(
                        started,
                        f">>> abuse surge starts: credible viewers report "
                        f"{small.broadcast_id} ({small.viewers} viewers) for harassment",
                    )
                surge.pop(0)
                await _send(client, generator.surge(small, Category.HARASSMENT, now))
            if elapsed >= CHILD_SAFETY_AT and "child" not in announced:
                announced.add("child")
                say(
                    started,
                    f">>> one trusted flagger reports {trusted_target.broadcast_id} "
                    "for child safety",
                )
                await _send(
                    client, generator.trusted_report(trusted_target, Category.CHILD_SAFETY, now)
                )
            if elapsed >= MALFORMED_AT and "malformed" not in announced:
                announced.add("malformed")
                say(started, ">>> 5 malformed messages: they go to broadcast-reports.dlq")
                for _ in range(5):
                    await client.send("broadcast-reports", generator.malformed(), key=b"junk")
            await _send(client, generator.background(now))
        await client.flush()
    say(
        started,
        f"traffic stopped; waiting {DEMO_RESOLVE_SECONDS:.0f}s+ for quiet incidents to resolve",
    )
    await asyncio.sleep(DEMO_RESOLVE_SECONDS + 5)


async def _send(client: AIOKafkaProducer, report: dict[str, object]) -> None:
    await client.send(
        "broadcast-reports", orjson.dumps(report), key=str(report["broadcast_id"]).encode()
    )
