"""A worker's first start on a report topic that already holds hours of history.

Uncommitted partitions are read from their start (nothing waiting is lost), so the
worker decides every surge in that history now: it must not page for them
(``lifecycle.page_within_seconds``), and must still tell on-call they happened.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from alerting.policy import load_policy
from models.escalation import EventAction, Severity
from models.escalation_v2 import parse_escalation
from tests.support.kafka import Record, read_until
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import ORDINARY_VIEWER, keyed, report

pytestmark = pytest.mark.kafka
POLICY = load_policy()


async def write_written_at(
    bootstrap: str, topic: str, reports: list[dict[str, object]], at: float
) -> None:
    """The reports as records Kafka took at ``at`` (their timestamps), as a backlog holds them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for payload in reports:
            key, value = keyed(payload)
            await producer.send_and_wait(topic, value, key=key, timestamp_ms=int(at * 1000))
    finally:
        await producer.stop()


def test_a_first_start_over_retained_history_does_not_page_its_old_surges(
    bootstrap: str, tmp_path: Path
) -> None:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path)
    target = "surge-two-hours-ago"
    two_hours_ago = time.time() - 7200
    surge = [
        report(
            target, "harassment", viewers=800, at=two_hours_ago + n, reporter=dict(ORDINARY_VIEWER)
        )
        for n in range(12)
    ]
    WorkerProcess(config).start().stop()  # its topics, and a group with nothing committed
    asyncio.run(write_written_at(bootstrap, config.input_topic, surge, two_hours_ago + 12))
    pattern = f"^{config.oncall_prefix.replace('.', '[.]')}.*"

    def opened(records: list[Record]) -> bool:
        return bool(records)

    worker = WorkerProcess(config).start()
    try:
        records = asyncio.run(
            read_until(bootstrap, None, pattern=pattern, done=opened, within=60, settle=3.0)
        )
        decided_late = metric_value(
            worker.metrics_text(), "spikewatch_escalations_decided_late_total"
        )
    finally:
        worker.stop()
    escalations = [parse_escalation(r.value or b"") for r in records]
    mine = [e for e in escalations if e.labels.broadcast_id == target]
    # Its incident opens at warning and, a surge long over, resolves: nothing pages.
    assert [(e.event_action, e.severity) for e in mine][:1] == [
        (EventAction.TRIGGER, Severity.WARNING)
    ]
    assert {e.event_action for e in mine} <= {EventAction.TRIGGER, EventAction.RESOLVE}
    assert "not paged, decided" in mine[0].summary
    assert mine[0].evidence.rules[0].rule == "page_within_seconds"
    assert decided_late == 1, "the trigger held back is counted for the operations desk"
    assert not any(e.severity.pages for e in escalations)
