"""Late and out-of-order reports in the core, and event times from the future."""

from __future__ import annotations

import time

import pytest

from alerting.admission import event_time_rejection
from alerting.detection_policy import WindowPolicy
from alerting.engine import DetectionEngine
from alerting.outcomes import ClockCorrection
from alerting.policy import load_policy
from alerting.state import BroadcastState
from models.dead_letter import DeadLetterReason
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.support.reports import ORDINARY_VIEWER, report

POLICY = load_policy()
T0 = 1_800_000_000.0


def event(broadcast: str, at: float, reporter: str | None = None) -> ReportEvent:
    """An ordinary viewer's report: weight 1, so five of them are the reporter floor."""
    return ReportEvent.model_validate(
        report(broadcast, at=at, viewers=400, reporter_id=reporter, reporter=dict(ORDINARY_VIEWER))
    )


def engine_with_lateness(seconds: float) -> DetectionEngine:
    window = WindowPolicy(**{**POLICY.window.model_dump(), "allowed_lateness_seconds": seconds})
    return DetectionEngine(POLICY.model_copy(update={"window": window}))


def test_out_of_order_report_inside_lateness_counts_in_its_own_bucket() -> None:
    engine = DetectionEngine(POLICY)
    state = BroadcastState("b")
    engine.observe(state, event("b", T0))
    behind = T0 - POLICY.window.allowed_lateness_seconds + 5
    observation = engine.observe(state, event("b", behind))
    assert not observation.late
    window = state.windows[Category.HARASSMENT]
    assert window.buckets == {engine.shape.bucket_of(T0): 1, engine.shape.bucket_of(behind): 1}
    assert state.watermark == T0, "an older report never moves time backwards"


@pytest.mark.parametrize("slow", [POLICY.window.allowed_lateness_seconds + 30, 1200.0, 7200.0])
def test_a_broadcast_whose_every_reporter_clock_runs_slow_pages_live_once(slow: float) -> None:
    """One app build stamping local time as UTC: each report reaches Kafka now and says it
    was made long ago. Live, the worker ticks every broadcast each second on the wall
    clock; on it, the broadcast's window was emptied by the next tick and the surge never
    paged. Its incident resolves once, after the quiet period on the broadcast's clock."""
    engine = DetectionEngine(POLICY)
    state = BroadcastState("b")
    escalations: list[tuple[float, EscalationV2]] = []
    ticked = T0
    for number in range(12):
        arrives = T0 + number * 0.5
        while ticked <= arrives:
            escalations += [(ticked, e) for e in engine.tick(state, ticked).escalations]
            ticked += 1.0
        observation = engine.observe(
            state,
            event("b", arrives - slow, reporter=f"viewer-{number}"),
            decided_at=arrives,
            record_time=arrives,
        )
        escalations += [(arrives, e) for e in observation.escalations]
    quiet = POLICY.lifecycle.resolve_after_quiet_seconds
    while ticked <= T0 + quiet + 120:
        escalations += [(ticked, e) for e in engine.tick(state, ticked).escalations]
        ticked += 1.0
    assert [(e.event_action, e.severity.pages) for _, e in escalations] == [
        (EventAction.TRIGGER, True),
        (EventAction.RESOLVE, True),
    ]
    resolved_at = escalations[1][0]
    assert resolved_at > T0 + quiet, "not before the quiet period, on the broadcast's clock"


def test_one_report_from_a_clock_a_year_slow_does_not_keep_its_broadcast_for_a_year() -> None:
    engine = DetectionEngine(POLICY)
    state = BroadcastState("b")
    engine.observe(state, event("b", T0 - 365 * 86_400.0), decided_at=T0, record_time=T0)
    horizon = (
        max(POLICY.window.length_seconds, POLICY.lifecycle.resolve_after_quiet_seconds)
        + POLICY.window.allowed_lateness_seconds
    )
    assert not engine.tick(state, T0 + 1).evictable, "kept while its records may still come"
    assert engine.tick(state, T0 + horizon + 1).evictable, "its own clock moves on with time"


def test_report_beyond_lateness_is_late_and_leaves_the_window_untouched() -> None:
    engine = DetectionEngine(POLICY)
    state = BroadcastState("b")
    for number in range(4):
        engine.observe(state, event("b", T0, reporter=f"on-time-{number}"))
    before = state.to_bytes()
    too_old = T0 - POLICY.window.allowed_lateness_seconds - 1
    observation = engine.observe(state, event("b", too_old, reporter="fifth"))
    assert observation.late
    assert observation.escalations == [], "a late fifth reporter must not complete a surge"
    assert state.to_bytes() == before
    on_time = engine.observe(state, event("b", T0 + 1, reporter="fifth"))
    assert [e.event_action for e in on_time.escalations] == [EventAction.TRIGGER]


def test_report_beyond_lateness_counts_at_its_record_time_when_that_is_recent() -> None:
    engine = DetectionEngine(POLICY)
    state = BroadcastState("b")
    for number in range(4):
        engine.observe(state, event("b", T0, reporter=f"on-time-{number}"), record_time=T0)
    slow_clock = T0 - POLICY.window.allowed_lateness_seconds - 90
    observation = engine.observe(
        state, event("b", slow_clock, reporter="fifth"), record_time=T0 + 1
    )
    assert not observation.late
    assert observation.clock is ClockCorrection.BEHIND
    assert [e.event_action for e in observation.escalations] == [EventAction.TRIGGER]
    assert state.watermark == T0, "counted at the broadcast's newest time, not after it"


def test_allowed_lateness_comes_from_the_policy() -> None:
    lenient, strict = engine_with_lateness(60), engine_with_lateness(0)
    outcomes = []
    for engine in (lenient, strict):
        state = BroadcastState("b")
        engine.observe(state, event("b", T0))
        outcomes.append(engine.observe(state, event("b", T0 - 30)).late)
    assert outcomes == [False, True]


def test_report_whose_bucket_left_the_window_is_late_even_within_lateness() -> None:
    engine = engine_with_lateness(POLICY.window.length_seconds * 2)
    state = BroadcastState("b")
    engine.observe(state, event("b", T0))
    assert engine.observe(state, event("b", T0 - POLICY.window.length_seconds - 20)).late


def test_far_future_event_time_is_refused_with_a_reason() -> None:
    now = time.time()
    assert event_time_rejection(now + 299, now, 300) is None
    refused = event_time_rejection(now + 3600, now, 300)
    assert refused is not None
    assert refused.reason is DeadLetterReason.EVENT_TIME_OUT_OF_RANGE
    assert "3600 s in the future" in refused.detail
