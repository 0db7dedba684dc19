"""Overload, hostile input, late events and idle eviction on one worker.

The worker starts behind a backlog it cannot take in at once (a worker that was
down for two minutes): lag must grow and show in the metric, every message must
end accepted, late or dead-lettered (none dropped), a surge whose reports are
spread over the backlog must still trigger once, and once it has caught up every
broadcast's state must be evicted (tombstoned in the changelog).

The policy is the default with a short window (10 s + 4 s lateness, resolve
after 6 quiet seconds: with the lateness, no shorter than the window), so eviction
is observable within the test.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from alerting.policy import DEFAULT_POLICY_PATH
from alerting.state import BroadcastState
from alerting.state_records import is_head_key, restore_state
from models.dead_letter import DeadLetter, DeadLetterReason
from models.escalation import EventAction
from models.report import Category
from streams.worker.state_cache import LEARNER_KEY_PREFIX
from tests.support.faults import (
    TriggerCensus,
    changelog_table,
    changelog_topic,
    read_escalations,
    record_figures,
    triggered,
    wait_for,
)
from tests.support.kafka import Record, read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import ORDINARY_VIEWER, keyed, report

pytestmark = pytest.mark.kafka

BACKLOG_BROADCASTS = 1000
REPORTS_PER_BROADCAST = 20
SURGES = 5
SURGE_REPORTERS = 6
BUCKET_SECONDS = 2.0
ALLOWED_LATENESS_SECONDS = 4.0


def short_window_policy(path: Path) -> Path:
    policy = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    policy["window"].update(
        length_seconds=10,
        bucket_seconds=BUCKET_SECONDS,
        allowed_lateness_seconds=ALLOWED_LATENESS_SECONDS,
    )
    policy["lifecycle"]["resolve_after_quiet_seconds"] = 6
    path.write_text(yaml.safe_dump(policy))
    return path


def hostile_messages(now: float) -> list[tuple[bytes, DeadLetterReason]]:
    future = report("from-the-future", at=now + 3600)
    return [
        (b"x" * (100 * 1024), DeadLetterReason.TOO_LARGE),
        (b"[" * 30_000 + b"]" * 30_000, DeadLetterReason.NOT_JSON),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, DeadLetterReason.NOT_JSON),
        (
            orjson.dumps(report("huge-comment", comment="x" * 60_000)),
            DeadLetterReason.INVALID_FIELD,
        ),
        (orjson.dumps(report("x" * 5000)), DeadLetterReason.INVALID_FIELD),
        (b'{"schema_version": 1, "broadcast_id": "\xc3\x28"}', DeadLetterReason.NOT_UTF8),
        (b'{"schema_version": 1, "report_id": "\\ud800"}', DeadLetterReason.NOT_JSON),
        (orjson.dumps(future), DeadLetterReason.EVENT_TIME_OUT_OF_RANGE),
    ]


def backlog(now: float) -> tuple[list[tuple[bytes | None, bytes]], dict[str, Any]]:
    """Reports stamped about two minutes ago, surges spread across the whole backlog."""
    base = now - 120
    benign = [
        keyed(
            report(
                f"bulk-{b}",
                "spam",
                at=base + (b % 8),
                viewers=10_000_000,
                reporter=dict(ORDINARY_VIEWER),
            )
        )
        for _ in range(REPORTS_PER_BROADCAST)
        for b in range(BACKLOG_BROADCASTS)
    ]
    surges = [
        [keyed(report(f"overload-surge-{s}", "harassment", at=base + r, viewers=400))]
        for r in range(SURGE_REPORTERS)
        for s in range(SURGES)
    ]
    hostile = hostile_messages(now)
    messages: list[tuple[bytes | None, bytes]] = list(benign)
    inserts = [*surges, *[[(b"hostile", payload)] for payload, _ in hostile] * 5]
    stride = len(benign) // len(inserts)
    for index, insert in enumerate(inserts):
        messages[(index + 1) * stride + index : (index + 1) * stride + index] = insert
    probe = "late-probe"
    in_time, in_lateness = base + 7.5, base + 7.5 - ALLOWED_LATENESS_SECONDS + 1
    beyond = base + 7.5 - ALLOWED_LATENESS_SECONDS - 6
    # One viewer reporting three times: the probe counts reports, it is no surge.
    messages += [
        keyed(report(probe, "harassment", at=t, reporter_id="probe-viewer"))
        for t in (in_time, in_lateness, beyond)
    ]
    expected = {
        "valid": len(benign) + SURGES * SURGE_REPORTERS + 3,
        "late": 0,
        "dead_letters": Counter(reason for _, reason in hostile * 5),
        "surges": {f"overload-surge-{s}" for s in range(SURGES)},
        "probe": probe,
        "probe_buckets": {math.floor(t / BUCKET_SECONDS) for t in (in_time, in_lateness)},
    }
    return messages, expected


def total_lag(worker: WorkerProcess) -> float:
    return metric_value(worker.metrics_text(), "spikewatch_consumer_lag_messages")


def outcomes(worker: WorkerProcess) -> Counter[str]:
    text = worker.metrics_text()
    return Counter(
        {
            outcome: int(metric_value(text, "spikewatch_reports_received_total", outcome=outcome))
            for outcome in ("accepted", "late", "dead_lettered", "rerouted")
        }
    )


def last_written_state(records: list[Record], broadcast_id: str) -> BroadcastState | None:
    """The broadcast's state as last written before its eviction deleted it."""
    table: dict[bytes, bytes | None] = {}
    state = None
    for record in records:
        assert record.key is not None
        table[record.key] = record.value
        if record.key == broadcast_id.encode() and record.value:
            state = restore_state(record.value, table.get)
    return state


def test_backlog_above_capacity_is_worked_off_without_loss_then_state_is_evicted(
    bootstrap: str, tmp_path: Path
) -> None:
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=tmp_path,
        extra_env={"SPIKEWATCH_POLICY_FILE": str(short_window_policy(tmp_path / "policy.yaml"))},
    )
    messages, expected = backlog(time.time())
    asyncio.run(send_all(bootstrap, config.input_topic, messages))

    worker = WorkerProcess(config).start()
    lag_seen = [0.0]
    started = time.monotonic()
    try:

        def caught_up() -> bool:
            lag_seen.append(total_lag(worker))
            done = sum(outcomes(worker).values()) >= len(messages)
            return done and lag_seen[-1] == 0

        wait_for(caught_up, 240, "the backlog to be worked off")
        catch_up_seconds = time.monotonic() - started
        final = outcomes(worker)
        behind = metric_value(
            worker.metrics_text(),
            "spikewatch_report_clock_corrections_total",
            direction="behind_window",
        )
        escalations = read_escalations(config, triggered(expected["surges"]), 60, settle=2.0)
        wait_for(
            lambda: metric_value(worker.metrics_text(), "spikewatch_broadcasts_tracked") == 0,
            60,
            "every idle broadcast to be evicted",
        )
        rss = metric_value(worker.metrics_text(), "process_resident_memory_bytes")
    finally:
        worker.stop()

    letters = asyncio.run(
        read_until(
            bootstrap,
            [config.dead_letter_topic],
            done=lambda rs: len(rs) >= sum(expected["dead_letters"].values()),
            within=60,
            settle=1.0,
        )
    )
    reasons = Counter(DeadLetter.model_validate_json(r.value or b"").reason for r in letters)
    changelog = asyncio.run(
        read_until(bootstrap, [changelog_topic(config)], done=lambda _: False, within=8)
    )
    latest = {
        key: value
        for key, value in changelog_table(changelog).items()
        if not key.startswith(LEARNER_KEY_PREFIX)
    }
    probe = last_written_state(changelog, expected["probe"])
    census = TriggerCensus.of(escalations)
    record_figures(
        "overload",
        {
            "messages_sent": len(messages),
            "max_lag_messages_seen": max(lag_seen),
            "catch_up_seconds": round(catch_up_seconds, 1),
            "outcomes": dict(final),
            "dead_letters_by_reason": {r.value: n for r, n in sorted(reasons.items())},
            "incidents_expected": len(expected["surges"]),
            "incidents_triggered": len(census.incidents),
            "trigger_records": sum(census.copies.values()),
            "broadcasts_in_changelog": sum(1 for key in latest if is_head_key(key)),
            "broadcasts_evicted": sum(1 for k, v in latest.items() if is_head_key(k) and v is None),
            "worker_rss_bytes_after": rss,
        },
    )
    assert max(lag_seen) > 0, "the backlog must show as lag"
    assert final["accepted"] == expected["valid"]
    assert final["late"] == expected["late"]
    assert behind == 1, "the probe's report beyond the lateness, counted at its newest time"
    assert final["dead_lettered"] == sum(expected["dead_letters"].values())
    assert reasons == expected["dead_letters"]
    assert census.incident_broadcasts() == expected["surges"]
    assert sum(census.copies.values()) == len(expected["surges"])
    assert probe is not None
    assert set(probe.windows[Category.HARASSMENT].buckets) == expected["probe_buckets"]
    assert probe.windows[Category.HARASSMENT].reports == 3, (
        "the one beyond the lateness reached Kafka in time: it counts at the probe's newest time"
    )
    assert len(latest) >= BACKLOG_BROADCASTS
    assert all(value is None for value in latest.values()), (
        "every state evicted once idle, each of its bucket records with it"
    )


def test_worker_back_after_an_outage_longer_than_the_window_keeps_its_restored_state(
    bootstrap: str, tmp_path: Path
) -> None:
    """Restored windows older than the window survive until the backlog is read.

    The whole path: state restored from the changelog after an outage longer
    than the window, reports stamped before the outage waiting in the backlog.
    The race inside it (a timer tick before the first fetch, which would evict
    the restored state on the wall clock) cannot be forced from outside; its rule
    is tested directly in ``test_clocks.py``.
    """
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=tmp_path,
        extra_env={"SPIKEWATCH_POLICY_FILE": str(short_window_policy(tmp_path / "policy.yaml"))},
    )
    target, stamped_at = "outage-surge", time.time()
    before = [
        report(target, "harassment", at=stamped_at, viewers=400, reporter=dict(ORDINARY_VIEWER))
        for _ in range(4)
    ]
    after = [
        report(target, "harassment", at=stamped_at + 1, viewers=400, reporter=dict(ORDINARY_VIEWER))
        for _ in range(2)
    ]
    first = WorkerProcess(config).start()
    try:
        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in before]))
        wait_for(
            lambda: (
                metric_value(
                    first.metrics_text(), "spikewatch_reports_received_total", outcome="accepted"
                )
                == len(before)
            ),
            60,
            "the first reports to be counted",
        )
    finally:
        first.stop()
    horizon = 10 + ALLOWED_LATENESS_SECONDS
    wait_for(lambda: time.time() - stamped_at > horizon + 2, 60, "an outage past the window")
    asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in after]))
    second = WorkerProcess(config).start()
    try:
        escalations = read_escalations(config, triggered({target}), 60, settle=1.0)
    finally:
        second.stop()
    census = TriggerCensus.of(escalations)
    outage = {
        e.labels.broadcast_id: e.evidence.distinct_reporters
        for e in escalations
        if e.event_action is EventAction.TRIGGER
    }
    record_figures(
        "outage_restore",
        {
            "outage_seconds_past_window": round(time.time() - stamped_at - horizon, 1),
            "reports_before": len(before),
            "reports_after": len(after),
            "trigger_records": sum(census.copies.values()),
            "distinct_reporters_at_trigger": outage.get(target),
        },
    )
    assert sum(census.copies.values()) == 1
    assert outage[target] == 5, "4 restored reporters + the first one from the backlog"
    [trigger] = [e for e in escalations if e.event_action is EventAction.TRIGGER]
    assert trigger.severity.pages, "a backlog seconds behind still pages (page_within_seconds)"
