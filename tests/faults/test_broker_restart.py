"""Stop and restart the broker mid-run: the worker reconnects by itself, loses nothing.

Uses its own broker (the session broker is shared by the other tests), on the
same data directory and ports across the restart, as a real broker would come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localkafka import LocalBroker
from models.escalation import EventAction
from tests.support.faults import (
    TriggerCensus,
    accepted,
    read_escalations,
    record_figures,
    triggered,
    wait_for,
)
from tests.support.kafka import send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess
from tests.support.reports import ORDINARY_VIEWER, TRUSTED_FLAGGER, keyed, report

pytestmark = pytest.mark.kafka


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    broker = LocalBroker.on_free_ports(tmp_path / "kafka", heap="512m", timeout=120.0)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_worker_survives_a_broker_restart_and_loses_no_escalation(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    bootstrap = own_broker.bootstrap
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path / "worker")
    surge, critical = "restart-surge", "restart-critical"
    before = [
        report(surge, "harassment", viewers=400, reporter=dict(ORDINARY_VIEWER)) for _ in range(4)
    ]
    after = [
        report(surge, "harassment", viewers=400, reporter=dict(ORDINARY_VIEWER)) for _ in range(3)
    ]
    single = report(critical, "child_safety", reporter=dict(TRUSTED_FLAGGER))

    worker = WorkerProcess(config).start()
    try:
        pid = worker.process.pid if worker.process else None
        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in before]))
        wait_for(lambda: accepted(worker) >= len(before), 60, "the first reports counted")

        stopped_at = time.monotonic()
        own_broker.stop()
        own_broker.start()
        outage = time.monotonic() - stopped_at

        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in [*after, single]]))
        wait_for(
            lambda: accepted(worker) >= len(before) + len(after) + 1,
            120,
            "the worker to reconnect and count the reports sent after the restart",
        )
        escalations = read_escalations(config, triggered({surge, critical}), 60, settle=3.0)
        assert worker.process is not None
        assert worker.process.poll() is None, "the worker must not exit"
        assert worker.process.pid == pid
    finally:
        worker.stop()

    census = TriggerCensus.of(escalations)
    by_broadcast = {
        e.labels.broadcast_id: e for e in escalations if e.event_action is EventAction.TRIGGER
    }
    record_figures(
        "broker_restart",
        {
            "broker_outage_seconds": round(outage, 1),
            "messages_sent": len(before) + len(after) + 1,
            "incidents_expected": 2,
            "incidents_triggered": len(census.incidents),
            "trigger_records": sum(census.copies.values()),
        },
    )
    assert census.incident_broadcasts() == {surge, critical}
    assert sum(census.copies.values()) == 2
    assert by_broadcast[surge].evidence.distinct_reporters == 5, "state kept across the outage"
