"""``kill -9`` a worker mid-stream and restart it: nothing lost, nobody paged twice.

Counted from what the real system wrote: every broadcast's window state in the
changelog (exactly the reports sent: none lost, none counted twice on replay)
and every trigger on the on-call topics (one dedup_key per incident).
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alerting.state import BroadcastState
from tests.support.faults import (
    PacedSender,
    TriggerCensus,
    accepted,
    counted_reports,
    read_escalations,
    read_states,
    record_figures,
    triggered,
    wait_for,
)
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import ORDINARY_VIEWER, TRUSTED_FLAGGER, keyed, report

pytestmark = pytest.mark.kafka

BACKGROUND_BROADCASTS = 150
REPORTS_PER_BACKGROUND = 20
SURGES = 8
SURGE_REPORTERS = 10
CRITICAL_SINGLES = 3
BENIGN = dict(ORDINARY_VIEWER)
FAST_FAILOVER = {"SPIKEWATCH_KAFKA_SESSION_TIMEOUT_SECONDS": "10"}


def crash_traffic() -> tuple[list[dict[str, Any]], set[str]]:
    """Benign volume on huge audiences, with surges and critical reports spread through it."""
    background = [
        report(f"bg-{b}", ("harassment", "spam")[b % 2], viewers=2_000_000, reporter=BENIGN)
        for _ in range(REPORTS_PER_BACKGROUND)
        for b in range(BACKGROUND_BROADCASTS)
    ]
    surges = [
        report(f"surge-{s}", "harassment", viewers=500)
        for _ in range(SURGE_REPORTERS)
        for s in range(SURGES)
    ]
    singles = [
        report(f"critical-{c}", "child_safety", reporter=dict(TRUSTED_FLAGGER))
        for c in range(CRITICAL_SINGLES)
    ]
    traffic = list(background)
    stride = len(background) // (len(surges) + len(singles))
    for index, payload in enumerate(surges + singles):
        traffic.insert((index + 1) * stride + index, payload)
    expected = {p["broadcast_id"] for p in surges + singles}
    return traffic, expected


@dataclass(frozen=True, slots=True)
class Restart:
    """What a kill -9 mid-stream left, read once the successor had counted every report."""

    successor: WorkerProcess
    accepted_before_kill: float
    sent_at_kill: int
    states: dict[str, BroadcastState | None]


@contextmanager
def killed_mid_stream(
    config: WorkerConfig,
    traffic: list[dict[str, Any]],
    *,
    rate: float,
    kill_after: int,
    within: float,
) -> Iterator[Restart]:
    """Send ``traffic`` at ``rate``, kill -9 the worker once it has accepted ``kill_after``
    reports, start a successor, and wait until every broadcast's stored state counts all
    the reports sent to it; the successor runs until the block ends."""
    sent_per_broadcast = Counter(p["broadcast_id"] for p in traffic)
    first = WorkerProcess(config).start()
    sender = PacedSender(config.bootstrap, config.input_topic, [keyed(p) for p in traffic])
    sender.start(rate)
    try:
        wait_for(lambda: accepted(first) >= kill_after, within, f"{kill_after} accepted reports")
        accepted_before_kill = accepted(first)
        sent_at_kill = sender.sent
    finally:
        first.stop(signal.SIGKILL)
    successor = WorkerProcess(config).start(timeout=120)
    try:
        sender.join(timeout=within)
        states = read_states(
            config,
            lambda latest: all(
                counted_reports(latest.get(b)) >= n for b, n in sent_per_broadcast.items()
            ),
            within=within,
        )
        yield Restart(successor, accepted_before_kill, sent_at_kill, states)
    finally:
        successor.stop()


def test_kill_9_mid_stream_loses_no_report_and_pages_each_incident_once(
    bootstrap: str, tmp_path: Path
) -> None:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path, extra_env=FAST_FAILOVER)
    traffic, expected_incidents = crash_traffic()
    sent_per_broadcast = Counter(p["broadcast_id"] for p in traffic)

    with killed_mid_stream(
        config, traffic, rate=400, kill_after=len(traffic) // 3, within=120
    ) as restart:
        escalations = read_escalations(config, triggered(expected_incidents), 90, settle=4.0)
        replayed = metric_value(
            restart.successor.metrics_text(),
            "spikewatch_reports_received_total",
            outcome="replayed",
        )

    counted = {b: counted_reports(restart.states.get(b)) for b in sent_per_broadcast}
    census = TriggerCensus.of(escalations)
    record_figures(
        "crash_recovery",
        {
            "messages_sent": len(traffic),
            "sent_when_killed": restart.sent_at_kill,
            "accepted_before_kill": restart.accepted_before_kill,
            "reports_counted_in_state": sum(counted.values()),
            "replayed_skipped_after_restart": replayed,
            "incidents_expected": len(expected_incidents),
            "incidents_triggered": len(census.incidents),
            "trigger_records": sum(census.copies.values()),
            "resent_trigger_copies": census.resent,
            "incidents_paged_twice": len(census.paged_twice),
        },
    )
    assert 0 < restart.accepted_before_kill < len(traffic), "the kill must land mid-stream"
    assert counted == dict(sent_per_broadcast), "every report counted exactly once"
    assert census.incident_broadcasts() == expected_incidents
    assert census.paged_twice == []
    assert census.divergent_copies == []
    for broadcast_id in expected_incidents:
        state = restart.states[broadcast_id]
        assert state is not None
        on_topic = {
            k for (b, _), keys in census.dedup_keys.items() if b == broadcast_id for k in keys
        }
        assert {i.dedup_key for i in state.incidents.values()} == on_topic


def test_successor_of_a_worker_killed_before_its_first_commit_decides_every_report(
    bootstrap: str, tmp_path: Path
) -> None:
    """Nothing was committed, so the successor must read the partitions from their start.

    Seeking to committed offsets leaves a partition without a commit wherever the
    fetcher happens to be (see ``BatchingConsumer.perform_seek``). The commit
    interval is set out of reach here, so that no commit can happen, instead of
    hoping the kill lands before the first one. The reports whose states the first
    worker had written are recognised as replayed; those of its last state write
    interval, never written, are decided again. The kill lands within the first
    second of traffic, so states are written every 0.2 s here: some must be written
    before it for the successor to recognise any.
    """
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=tmp_path,
        extra_env={
            **FAST_FAILOVER,
            "SPIKEWATCH_COMMIT_INTERVAL_SECONDS": "3600",
            "SPIKEWATCH_STATE_WRITE_INTERVAL_SECONDS": "0.2",
        },
    )
    traffic = [report(f"uncommitted-{n % 30}", "spam", reporter=BENIGN) for n in range(900)]
    sent = Counter(p["broadcast_id"] for p in traffic)

    with killed_mid_stream(config, traffic, rate=300, kill_after=200, within=60) as restart:
        metrics = restart.successor.metrics_text()
        read = metric_value(metrics, "spikewatch_reports_received_total")
        replayed = metric_value(metrics, "spikewatch_reports_received_total", outcome="replayed")

    assert 0 < restart.accepted_before_kill < len(traffic), "the kill must land mid-stream"
    assert {b: counted_reports(restart.states.get(b)) for b in sent} == dict(sent)
    assert read >= len(traffic), "the successor did not read the partitions from their start"
    assert replayed > 0, "the first worker's written states were not recognised"
