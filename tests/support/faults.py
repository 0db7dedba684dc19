"""What fault tests count: window state in the changelog, escalations on the on-call topics.

Every fault test ends by reading what the real system wrote (never what a worker
says about itself) and by recording its figures under ``.run/guarantees/`` so
the README's "Guarantees" section can quote the last run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from alerting.state import BroadcastState
from alerting.state_records import is_head_key, restore_state
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2, parse_escalation
from streams.kafka.tables import key_partition
from tests.support.broker import REPO_ROOT
from tests.support.kafka import Record, read_until
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value

FIGURES_DIR = REPO_ROOT / ".run" / "guarantees"


def changelog_topic(config: WorkerConfig) -> str:
    return f"{config.name}-app-broadcast-state-changelog"


def oncall_pattern(config: WorkerConfig) -> str:
    return f"^{config.oncall_prefix.replace('.', '[.]')}.*"


def partition_of(broadcast_id: str, partitions: int = 4) -> int:
    """The producer's default partitioner, as the worker computes it."""
    return key_partition(broadcast_id.encode(), partitions)


def broadcasts_on(partitions: set[int], prefix: str, count: int) -> list[str]:
    found: list[str] = []
    number = 0
    while len(found) < count:
        candidate = f"{prefix}-{number}"
        if partition_of(candidate) in partitions:
            found.append(candidate)
        number += 1
    return found


def changelog_table(records: list[Record]) -> dict[bytes, bytes | None]:
    """Each key's newest value in a state changelog (None: a tombstone), as compaction keeps it."""
    return {record.key: record.value for record in records if record.key is not None}


def latest_states(records: list[Record]) -> dict[str, BroadcastState | None]:
    """The table as a restarted worker would rebuild it (None: evicted, a tombstone)."""
    table = changelog_table(records)
    return {
        key.decode(): restore_state(value, table.get) if value else None
        for key, value in table.items()
        if is_head_key(key)
    }


def counted_reports(state: BroadcastState | None) -> int:
    return 0 if state is None else sum(w.reports for w in state.windows.values())


def read_states(
    config: WorkerConfig,
    done: Callable[[dict[str, BroadcastState | None]], bool],
    within: float,
) -> dict[str, BroadcastState | None]:
    records = asyncio.run(
        read_until(
            config.bootstrap,
            [changelog_topic(config)],
            done=lambda rs: done(latest_states(rs)),
            within=within,
        )
    )
    return latest_states(records)


def read_escalations(
    config: WorkerConfig,
    done: Callable[[list[EscalationV2]], bool],
    within: float,
    settle: float = 0.0,
) -> list[EscalationV2]:
    records = asyncio.run(
        read_until(
            config.bootstrap,
            None,
            pattern=oncall_pattern(config),
            done=lambda rs: done(parse_escalations(rs)),
            within=within,
            settle=settle,
        )
    )
    return parse_escalations(records)


def parse_escalations(records: list[Record]) -> list[EscalationV2]:
    return [parse_escalation(r.value or b"") for r in records]


@dataclass
class TriggerCensus:
    """Triggers per incident: distinct dedup_keys (pages) and re-sent copies."""

    dedup_keys: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    copies: Counter[str] = field(default_factory=Counter)
    event_ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def of(cls, escalations: Sequence[EscalationV2]) -> TriggerCensus:
        census = cls()
        for escalation in escalations:
            if escalation.event_action is not EventAction.TRIGGER:
                continue
            incident = (escalation.labels.broadcast_id, escalation.labels.category.value)
            census.dedup_keys[incident].add(escalation.dedup_key)
            census.copies[escalation.dedup_key] += 1
            census.event_ids[escalation.dedup_key].add(escalation.event_id)
        return census

    @property
    def incidents(self) -> set[tuple[str, str]]:
        return set(self.dedup_keys)

    def incident_broadcasts(self) -> set[str]:
        return {broadcast for broadcast, _ in self.dedup_keys}

    @property
    def paged_twice(self) -> list[tuple[str, str]]:
        """Incidents that got more than one dedup_key: a second page."""
        return sorted(i for i, keys in self.dedup_keys.items() if len(keys) > 1)

    @property
    def resent(self) -> int:
        """Extra copies of a trigger already on the topic (same dedup_key and event_id)."""
        return sum(count - 1 for count in self.copies.values())

    @property
    def divergent_copies(self) -> list[str]:
        """Copies of one trigger that do not carry the same event_id: never allowed."""
        return sorted(key for key, ids in self.event_ids.items() if len(ids) > 1)


def triggered(broadcast_ids: set[str]) -> Callable[[list[EscalationV2]], bool]:
    def done(escalations: list[EscalationV2]) -> bool:
        return broadcast_ids <= TriggerCensus.of(escalations).incident_broadcasts()

    return done


def accepted(worker: WorkerProcess) -> float:
    try:
        text = worker.metrics_text()
    except OSError:
        return -1.0
    return metric_value(text, "spikewatch_reports_received_total", outcome="accepted")


def wait_for(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


class PacedSender:
    """Sends messages from a background thread at a steady rate: traffic that keeps
    flowing while a test kills and restarts things."""

    def __init__(
        self, bootstrap: str, topic: str, messages: Sequence[tuple[bytes | None, bytes]]
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.messages = list(messages)
        self.sent = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, per_second: float) -> PacedSender:
        self.per_second = per_second
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._send())
        except BaseException as error:  # reported by join(), in the test's thread
            self.error = error

    async def _send(self) -> None:
        chunk = max(1, int(self.per_second / 10))
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            for start in range(0, len(self.messages), chunk):
                began = time.monotonic()
                for key, value in self.messages[start : start + chunk]:
                    await producer.send(self.topic, value, key=key)
                await producer.flush()
                self.sent = min(len(self.messages), start + chunk)
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
        finally:
            await producer.stop()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert not self._thread.is_alive(), f"sender still running after {timeout} s"


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Print and keep the figures of one guarantee (quoted in the README)."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    stamped = {"test": name, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    stamped.update(figures)
    (FIGURES_DIR / f"{name}.json").write_text(json.dumps(stamped, indent=2) + "\n")
    print(f"\nguarantee figures {name}: {json.dumps(figures)}")
