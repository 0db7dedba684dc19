"""Running ``spikewatch notify`` in tests: incidents to send, settings, the service itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from alerting.incidents import dedup_key_for
from localkafka import free_port
from models.escalation import EscalationLabels, EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category
from oncall.delivery.config import NotifyConfig, load_sinks
from streams.bench.load import create_topic
from streams.notify.service import run_notify
from streams.settings import Settings
from tests.models.test_escalation_v2 import escalation
from tests.support.broker import REPO_ROOT
from tests.support.kafka import send_all
from tests.support.monitoring import wait_for

PARTITIONS = 4


class _StartMilliseconds:
    """Each :func:`incident`'s start, in whole milliseconds, later than the one before:
    the contract's ``dedup_key`` names the incident's start
    (:func:`alerting.incidents.dedup_key_for`), and two incidents of one broadcast and
    team built within a millisecond would otherwise share a key."""

    def __init__(self) -> None:
        self.last = 0

    def after(self, now: datetime) -> int:
        self.last = max(int(now.timestamp() * 1000), self.last + 1)
        return self.last


_starts = _StartMilliseconds()


def incident(
    broadcast_id: str,
    team: str = "t",
    *,
    updates: int = 1,
    resolve: bool = True,
    shadow: bool = False,
    category: Category = Category.HARASSMENT,
) -> list[EscalationV2]:
    """One incident's events: a trigger, ``updates`` severity raises, then the resolve."""
    now = datetime.now(UTC)
    dedup_key = dedup_key_for(broadcast_id, team, _starts.after(now))
    labels = EscalationLabels(broadcast_id=broadcast_id, category=category, team=team)
    actions = [EventAction.TRIGGER, *[EventAction.UPDATE] * updates]
    if resolve:
        actions.append(EventAction.RESOLVE)
    return [
        escalation(
            event_id=str(uuid.uuid4()),
            dedup_key=dedup_key,
            sequence=sequence,
            event_action=action,
            severity=Severity.CRITICAL if action is EventAction.UPDATE else Severity.ERROR,
            summary=f"report_spike on broadcast {broadcast_id}",
            labels=labels,
            detected_at=now,
            starts_at=now - timedelta(seconds=30),
            ends_at=now if action is EventAction.RESOLVE else None,
            shadow=shadow,
        )
        for sequence, action in enumerate(actions, start=1)
    ]


def notify_settings(bootstrap: str, **changes: Any) -> Settings:
    """Settings whose topics no other test uses, with notify's web port free."""
    run = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "oncall_topic_prefix": f"oncall-{run}.",
        "ack_topic": f"acks-{run}",
        "notify_dead_letter_topic": f"notify-dlq-{run}",
        "notify_web_port": free_port(),
        "notify_new_group_lookback_seconds": 120.0,
        "topic_partitions": PARTITIONS,
    }
    fields.update(changes)
    return Settings(**fields)


def write_sinks(directory: Path, document: dict[str, Any], environ: dict[str, str]) -> NotifyConfig:
    path = directory / "sinks.yaml"
    path.write_text(yaml.safe_dump(document))
    return load_sinks(path, environ)


PAGERDUTY_ENVIRON = {"PD_KEY": "R0UT1NGKEY0123456789abcdef012345"}
"""The environment :func:`write_pagerduty_sink`'s file reads its routing key from."""


def write_pagerduty_sink(directory: Path, url: str) -> NotifyConfig:
    """A sinks file of one PagerDuty sink at ``url`` for team ``t`` (``sinks.yaml``), its
    routing key in ``PD_KEY`` (:data:`PAGERDUTY_ENVIRON`)."""
    sink = {
        "name": "pagerduty",
        "type": "pagerduty",
        "url": url,
        "routes": {"t": {"routing_key_env": "PD_KEY"}},
    }
    return write_sinks(directory, {"version": 1, "sinks": [sink]}, PAGERDUTY_ENVIRON)


async def create_topics(bootstrap: str, names: Sequence[str]) -> None:
    for name in names:
        await create_topic(bootstrap, name, PARTITIONS)


async def send_escalations(settings: Settings, events: Sequence[EscalationV2]) -> None:
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for event in events:
        topic = settings.oncall_topic(event.labels.team)
        by_topic.setdefault(topic, []).append((event.dedup_key.encode(), event.to_json_bytes()))
    for topic, messages in by_topic.items():
        await send_all(settings.kafka_bootstrap, topic, messages)


def web_url(settings: Settings, path: str) -> str:
    return f"http://127.0.0.1:{settings.notify_web_port}{path}"


def metric_now(settings: Settings, name: str, **labels: str) -> float:
    """The sum of a notify metric's samples matching ``labels``, from its /metrics.

    Blocking: call it from a thread when the service answering runs in this event loop.
    """
    total = 0.0
    for line in _scrape(web_url(settings, "/metrics")).splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{key}="{wanted}"' in series for key, wanted in labels.items()):
            total += float(value)
    return total


async def metric(settings: Settings, name: str, **labels: str) -> float:
    """``metric_now`` from a thread: the service answering it may run in this event loop."""
    return await asyncio.to_thread(metric_now, settings, name, **labels)


async def wait_for_delivery(
    settings: Settings, condition: Callable[[], object], within: float, what: str
) -> None:
    """``wait_for`` from a thread; on timeout the failure shows notify's non-zero counters
    and, per on-call partition, where each sink's group has committed against the end: a
    record notify never fetched and one it fetched but never finished look alike in the
    counters alone."""
    try:
        await asyncio.to_thread(wait_for, condition, within, what)
    except AssertionError as error:
        text = await asyncio.to_thread(_scrape, web_url(settings, "/metrics"))
        moved = [
            line
            for line in text.splitlines()
            if line.startswith("spikewatch_notify_")
            and "_created{" not in line
            and not line.endswith(" 0.0")
        ]
        offsets = await _committed_against_end(settings)
        raise AssertionError(
            f"{error}; notify's counters: {moved}; committed/end offsets: {offsets}"
        ) from None


async def _committed_against_end(settings: Settings) -> dict[str, str]:
    """``group topic:partition`` -> ``committed/end`` for every notify group's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        groups = [
            group
            for group, _ in await admin.list_consumer_groups()
            if group.startswith("spikewatch-notify-")
        ]
        found: dict[str, str] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            mine = [tp for tp in committed if tp.topic.startswith(settings.oncall_topic_prefix)]
            ends = await consumer.end_offsets(mine) if mine else {}
            for tp in mine:
                found[f"{group} {tp.topic}:{tp.partition}"] = f"{committed[tp].offset}/{ends[tp]}"
        return found
    finally:
        await consumer.stop()
        await admin.close()


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@contextlib.asynccontextmanager
async def running_notify(
    settings: Settings, config: NotifyConfig, teams: Sequence[str] = ("t",)
) -> AsyncIterator[asyncio.Task[int]]:
    """The service in this event loop until the block ends; fails the test if it crashed."""
    stopping = asyncio.Event()
    task = asyncio.create_task(run_notify(settings, config, frozenset(teams), stopping))

    def up() -> bool:
        if task.done():
            raise AssertionError(f"notify stopped: {task.exception()!r}")
        with urllib.request.urlopen(web_url(settings, "/healthz"), timeout=1) as response:
            return bool(response.status == 200)

    await asyncio.to_thread(wait_for, up, 30, "notify's /healthz")
    try:
        yield task
    finally:
        stopping.set()
        code = await asyncio.wait_for(task, 30)
        assert code == 0


def notify_process(
    settings: Settings, sinks_file: Path, log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``spikewatch notify`` as its own process, configured through SPIKEWATCH_* variables."""
    variables = {
        **os.environ,
        **env,
        "SPIKEWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SPIKEWATCH_ONCALL_TOPIC_PREFIX": settings.oncall_topic_prefix,
        "SPIKEWATCH_ACK_TOPIC": settings.ack_topic,
        "SPIKEWATCH_NOTIFY_DEAD_LETTER_TOPIC": settings.notify_dead_letter_topic,
        "SPIKEWATCH_NOTIFY_WEB_PORT": str(settings.notify_web_port),
        "SPIKEWATCH_NOTIFY_NEW_GROUP_LOOKBACK_SECONDS": str(
            settings.notify_new_group_lookback_seconds
        ),
        "SPIKEWATCH_NOTIFY_SINKS_FILE": str(sinks_file),
        "SPIKEWATCH_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "SPIKEWATCH_KAFKA_SESSION_TIMEOUT_SECONDS": str(settings.kafka_session_timeout_seconds),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "notify"],
        cwd=REPO_ROOT,
        env=variables,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
