"""Tests for alerting/engine.py: reports in, escalations out, one broadcast at a time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.detectors import Assessment, Detector, Verdict, default_detectors
from alerting.engine import DetectionEngine
from alerting.incidents import dedup_key_for
from alerting.outcomes import ClockCorrection, Observation
from alerting.policy import Policy, abuse_categories
from alerting.state import BroadcastState
from alerting.views import ViewOdds
from models.dead_letter import DeadLetterReason
from models.decode import Rejection, decode_report
from models.escalation import (
    MAX_SAMPLE_REPORT_IDS,
    EscalationClass,
    EventAction,
    Severity,
)
from models.escalation_v2 import EscalationV2
from models.report import MAX_VIEWER_COUNT, Category, ReportEvent
from tests.alerting.helpers import (
    HARASSMENT_RATE,
    HIGH_TRUST,
    ORDINARY,
    SMALL_AUDIENCE,
    T0,
    TRUSTED_FLAGGER,
    burst,
    exact_tail,
    make_report,
    resolve_wait,
    utc,
    with_changes,
)


def observe_each(
    engine: DetectionEngine, state: BroadcastState, reports: Iterable[ReportEvent]
) -> list[list[EscalationV2]]:
    return [engine.observe(state, report).escalations for report in reports]


def flat(per_report: Iterable[list[EscalationV2]]) -> list[EscalationV2]:
    return [escalation for escalations in per_report for escalation in escalations]


def harassment_watched(policy: Policy) -> Policy:
    """Harassment (severity error) also escalates on one credible report (critical)."""
    return with_changes(
        policy,
        credible_report={"categories": ["child_safety", "violent_extremism", "harassment"]},
    )


# --- spikes --------------------------------------------------------------------------------


def test_observe_given_the_event_time_decides_as_when_it_reads_it_from_the_report(
    engine: DetectionEngine,
) -> None:
    reports = burst(30, reporter=ORDINARY)
    read, given = BroadcastState("b-1"), BroadcastState("b-1")

    from_report = observe_each(engine, read, reports)
    from_caller = [
        engine.observe(given, report, event_time=report.event_time).escalations
        for report in reports
    ]

    assert from_caller == from_report
    assert given.to_bytes() == read.to_bytes()


def test_burst_of_distinct_reporters_on_small_audience_triggers_exactly_once(
    engine: DetectionEngine, policy: Policy
) -> None:
    floor = policy.spike.min_distinct_reporters
    # first principles: `floor` reporters where 0.009 are expected is far past the high mark
    assert exact_tail(floor, HARASSMENT_RATE * SMALL_AUDIENCE * 300) <= policy.spike.trigger_p_value
    state = BroadcastState("b-1")

    per_report = observe_each(engine, state, burst(30, reporter=ORDINARY))

    sent = flat(per_report)
    assert [index for index, escalations in enumerate(per_report) if escalations] == [floor - 1]
    assert len(sent) == 1
    trigger = sent[0]
    assert trigger.event_action is EventAction.TRIGGER
    assert trigger.sequence == 1
    assert trigger.severity is Severity.ERROR
    assert trigger.escalation_class is EscalationClass.REPORT_SPIKE
    assert trigger.labels.team == "hate-harassment"
    assert trigger.labels.broadcast_id == "b-1"
    assert trigger.labels.category is Category.HARASSMENT
    assert trigger.evidence.distinct_reporters == floor
    assert trigger.evidence.reports == floor
    assert trigger.starts_at == trigger.detected_at == utc(T0 + floor - 1)
    assert trigger.ends_at is None
    assert trigger.policy_version == policy.policy_version
    assert uuid.UUID(trigger.event_id).version == 5


def test_same_burst_on_two_million_viewers_triggers_nothing(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    assert flat(observe_each(engine, state, burst(30, viewers=2_000_000))) == []


def test_one_reporter_clicking_thirty_times_triggers_nothing(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    clicks = [make_report("same-person", at=T0 + index) for index in range(30)]
    assert flat(observe_each(engine, state, clicks)) == []
    assert state.windows[Category.HARASSMENT].distinct_reporters == 1


def test_distinct_reporters_below_the_floor_trigger_nothing(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    below = burst(policy.spike.min_distinct_reporters - 1, viewers=SMALL_AUDIENCE)
    assert flat(observe_each(engine, state, below)) == []


def test_unknown_viewer_count_uses_the_last_known_one(engine: DetectionEngine) -> None:
    # the first report says 2,000,000 viewers; later ones omit the count
    state = BroadcastState("b-1")
    reports = [make_report("first", viewers=2_000_000), *burst(10, start=T0 + 1, viewers=None)]
    assert flat(observe_each(engine, state, reports)) == []


# --- single credible reports ------------------------------------------------------------


def test_trusted_flagger_child_safety_report_pages_critical_at_once(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    sent = engine.observe(
        state, make_report("flagger", category="child_safety", reporter=TRUSTED_FLAGGER)
    ).escalations
    assert len(sent) == 1
    assert sent[0].event_action is EventAction.TRIGGER
    assert sent[0].severity is Severity.CRITICAL
    assert sent[0].escalation_class is EscalationClass.CRITICAL_REPORT
    assert sent[0].labels.team == "child-safety"
    assert sent[0].evidence.reports == 1
    assert sent[0].summary.endswith(
        f"(1 report across the abuse categories in the window, "
        f"{sent[0].evidence.expected_reports:.2f} expected)"
    )


@pytest.mark.parametrize(
    "reporter",
    [
        pytest.param({"account_age_days": 400, "trust": 0.5, "was_viewing": True}, id="low_trust"),
        pytest.param(
            {"account_age_days": 400, "trust": 0.95, "was_viewing": False}, id="not_viewing"
        ),
        pytest.param({"account_age_days": 2, "trust": 0.95, "was_viewing": True}, id="brand_new"),
        pytest.param({"account_age_days": 400, "was_viewing": True}, id="trust_unknown"),
        pytest.param({"trusted_flagger": False}, id="nothing_known"),
        pytest.param(None, id="no_reporter_info"),
    ],
)
def test_child_safety_report_from_non_credible_reporter_does_not_page(
    engine: DetectionEngine, reporter: dict[str, Any] | None
) -> None:
    state = BroadcastState("b-1")
    report = make_report("someone", category="child_safety", reporter=reporter)
    assert engine.observe(state, report).escalations == []


@pytest.mark.parametrize(
    "reporter",
    [
        pytest.param(HIGH_TRUST, id="high_trust_viewer"),
        pytest.param(
            {"account_age_days": 30, "trust": 0.8, "was_viewing": True}, id="at_the_minimums"
        ),
        pytest.param({"trust": 0.9}, id="unknown_age_and_viewing_do_not_disqualify"),
        pytest.param({"trusted_flagger": True, "trust": 0.0}, id="flagger_overrides_trust"),
    ],
)
def test_child_safety_report_from_credible_reporter_pages(
    engine: DetectionEngine, reporter: dict[str, Any]
) -> None:
    state = BroadcastState("b-1")
    report = make_report("someone", category="child_safety", reporter=reporter)
    sent = engine.observe(state, report).escalations
    assert [e.escalation_class for e in sent] == [EscalationClass.CRITICAL_REPORT]


def test_trusted_flagger_in_unwatched_category_does_not_page_alone(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    report = make_report("flagger", category="harassment", reporter=TRUSTED_FLAGGER)
    assert engine.observe(state, report).escalations == []


# --- severity ceilings and updates ------------------------------------------------------


@pytest.mark.parametrize("watch_spam", [False, True])
def test_spam_never_pages_above_warning_even_in_a_huge_surge(
    policy: Policy, watch_spam: bool
) -> None:
    if watch_spam:
        policy = with_changes(policy, credible_report={"categories": ["child_safety", "spam"]})
    engine = DetectionEngine(policy)
    state = BroadcastState("b-1")
    reports = [
        make_report(
            f"spam-{index}",
            at=T0 + index * 0.1,
            category="spam",
            viewers=50,
            reporter=TRUSTED_FLAGGER if index % 3 == 0 else ORDINARY,
        )
        for index in range(600)
    ]
    sent = flat(observe_each(engine, state, reports))
    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    assert all(e.severity is Severity.WARNING for e in sent)
    assert all(e.labels.team == "integrity" for e in sent)


def test_severity_rise_sends_exactly_one_update_with_sequence_two(policy: Policy) -> None:
    engine = DetectionEngine(harassment_watched(policy))
    state = BroadcastState("b-1")
    floor = policy.spike.min_distinct_reporters
    spike = burst(floor, reporter=ORDINARY)
    flagger = make_report("flagger", at=T0 + floor, reporter=TRUSTED_FLAGGER)
    more = [
        *burst(10, start=T0 + floor + 1, prefix="late", reporter=ORDINARY),
        make_report("flagger-2", at=T0 + 30, reporter=TRUSTED_FLAGGER),
    ]

    sent = flat(observe_each(engine, state, [*spike, flagger, *more]))

    assert [(e.event_action, e.sequence, e.severity) for e in sent] == [
        (EventAction.TRIGGER, 1, Severity.ERROR),
        (EventAction.UPDATE, 2, Severity.CRITICAL),
    ]
    trigger, update = sent
    assert update.dedup_key == trigger.dedup_key
    assert update.event_id != trigger.event_id
    assert update.starts_at == trigger.starts_at
    assert update.escalation_class is EscalationClass.REPORT_SPIKE  # what opened it
    assert update.summary.startswith("Updated")


def test_repeat_interval_sends_updates_while_active(policy: Policy) -> None:
    engine = DetectionEngine(with_changes(policy, lifecycle={"repeat_interval_seconds": 60}))
    state = BroadcastState("b-1")
    sent = flat(observe_each(engine, state, burst(70)))  # one report a second for 70 s
    assert [(e.event_action, e.sequence) for e in sent] == [
        (EventAction.TRIGGER, 1),
        (EventAction.UPDATE, 2),
    ]
    # triggered by report 4 (t = 4 s), repeated 60 s later by report 64
    assert sent[1].detected_at == utc(T0 + 64)


# --- resolve and re-open ----------------------------------------------------------------


def test_tick_resolves_after_the_quiet_period_and_not_before(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    sent = flat(observe_each(engine, state, burst(8)))
    assert len(sent) == 1
    trigger = sent[0]
    last_active = T0 + 7  # every report of the burst is past the high mark
    quiet = resolve_wait(policy)

    assert engine.tick(state, last_active + quiet - 1).escalations == []
    result = engine.tick(state, last_active + quiet)

    assert len(result.escalations) == 1
    resolve = result.escalations[0]
    assert resolve.event_action is EventAction.RESOLVE
    assert resolve.sequence == trigger.sequence + 1
    assert resolve.dedup_key == trigger.dedup_key
    assert resolve.ends_at == utc(last_active + quiet)
    assert resolve.starts_at == trigger.starts_at
    assert resolve.evidence.window_start < resolve.evidence.window_end
    assert state.incidents == {}
    assert engine.tick(state, last_active + quiet + 1).escalations == []


def pages_after_resolution(policy: Policy) -> list[EscalationV2]:
    """A surge, its incident resolved by the quiet timer, then one ordinary report on the
    same broadcast as soon as it resolved: what that report sends."""
    engine = DetectionEngine(policy)
    state = BroadcastState("b-1")
    assert len(flat(observe_each(engine, state, burst(8)))) == 1
    resolved_at = T0 + 7 + resolve_wait(policy)
    assert [e.event_action for e in engine.tick(state, resolved_at).escalations] == [
        EventAction.RESOLVE
    ]
    return engine.observe(state, make_report("passer-by", at=resolved_at)).escalations


def test_a_resolved_surge_does_not_page_again_on_the_next_report(policy: Policy) -> None:
    """At the shortest quiet period the policy allows (quiet + lateness = window), the
    surge's reporters have left the window by the time its incident resolves."""
    shortest = with_changes(
        policy,
        window={"length_seconds": 60, "allowed_lateness_seconds": 10},
        lifecycle={"resolve_after_quiet_seconds": 50},
    )
    assert pages_after_resolution(shortest) == []
    too_short = shortest.model_copy(  # what the policy refuses, built around its check
        update={
            "lifecycle": shortest.lifecycle.model_copy(update={"resolve_after_quiet_seconds": 20})
        }
    )
    assert [e.event_action for e in pages_after_resolution(too_short)] == [EventAction.TRIGGER]


def test_sustained_reports_keep_the_incident_open(engine: DetectionEngine, policy: Policy) -> None:
    state = BroadcastState("b-1")
    quiet = resolve_wait(policy)
    observe_each(engine, state, burst(6))
    # a reporter every 100 s keeps the spike active; ticks in between must not resolve
    for step in range(1, 6):
        engine.observe(state, make_report(f"steady-{step}", at=T0 + 5 + step * 100))
        assert engine.tick(state, T0 + 5 + step * 100 + quiet - 1).escalations == []
    assert "hate-harassment" in state.incidents


def test_new_surge_after_resolve_opens_a_new_incident(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    first = flat(observe_each(engine, state, burst(6)))
    resolved = engine.tick(state, T0 + 5 + resolve_wait(policy))
    assert [e.event_action for e in resolved.escalations] == [EventAction.RESOLVE]

    second = flat(observe_each(engine, state, burst(6, start=T0 + 2_000, prefix="again")))

    assert [(e.event_action, e.sequence) for e in second] == [(EventAction.TRIGGER, 1)]
    assert second[0].dedup_key != first[0].dedup_key
    assert second[0].event_id != first[0].event_id
    assert second[0].starts_at == utc(T0 + 2_004)


def test_reopened_incident_never_reuses_a_resolved_dedup_key(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    # producers stamp whole seconds: five reports in the same second
    first = flat(observe_each(engine, state, burst(5, spacing=0.0)))
    assert [e.event_action for e in first] == [EventAction.TRIGGER]
    # the worker is catching up a backlog: wall clock is `quiet` seconds ahead
    resolved = engine.tick(state, T0 + resolve_wait(policy))
    assert [e.event_action for e in resolved.escalations] == [EventAction.RESOLVE]
    # the backlog continues with another report from that same second
    again = engine.observe(state, make_report("backlog-6", at=T0)).escalations

    assert [e.event_action for e in again] == [EventAction.TRIGGER]
    assert again[0].dedup_key != first[0].dedup_key
    assert again[0].event_id != first[0].event_id


# --- late reports -----------------------------------------------------------------------


def test_report_beyond_allowed_lateness_is_late_and_not_counted(
    engine: DetectionEngine, policy: Policy
) -> None:
    lateness = policy.window.allowed_lateness_seconds
    state = BroadcastState("b-1")
    engine.observe(state, make_report("first", at=T0 + 100))
    before = state.to_bytes()

    late = engine.observe(state, make_report("late", at=T0 + 100 - lateness - 1))

    assert late.late is True
    assert late.escalations == []
    assert state.to_bytes() == before


def test_report_at_the_lateness_limit_is_still_counted(
    engine: DetectionEngine, policy: Policy
) -> None:
    lateness = policy.window.allowed_lateness_seconds
    state = BroadcastState("b-1")
    engine.observe(state, make_report("first", at=T0 + 100))
    observation = engine.observe(state, make_report("on-time", at=T0 + 100 - lateness))
    assert observation.late is False
    assert state.windows[Category.HARASSMENT].reports == 2
    assert state.windows[Category.HARASSMENT].distinct_reporters == 2


def test_late_credible_report_does_not_page(engine: DetectionEngine, policy: Policy) -> None:
    # the watermark is per broadcast: a late report in another category is late too
    state = BroadcastState("b-1")
    engine.observe(state, make_report("first", at=T0 + 500))
    late = make_report(
        "flagger",
        at=T0 + 500 - policy.window.allowed_lateness_seconds - 5,
        category="child_safety",
        reporter=TRUSTED_FLAGGER,
    )
    observation = engine.observe(state, late)
    assert observation.late is True
    assert observation.escalations == []
    assert Category.CHILD_SAFETY not in state.windows


def test_late_report_does_not_change_the_broadcast_context(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    engine.observe(state, make_report("first", at=T0 + 500, viewers=100))
    engine.observe(state, make_report("late", at=T0, viewers=9_999_999))
    assert state.viewers == 100


# --- evidence ---------------------------------------------------------------------------


def test_evidence_window_follows_the_window_docstring_example(engine: DetectionEngine) -> None:
    # deciding report at 12:05:03 -> window_start 12:00:10, window_end 12:05:03
    deciding = datetime(2026, 11, 26, 12, 5, 3, tzinfo=UTC).timestamp()
    state = BroadcastState("b-1")
    sent = flat(observe_each(engine, state, burst(5, start=deciding - 4)))
    assert len(sent) == 1
    evidence = sent[0].evidence
    assert evidence.window_start == datetime(2026, 11, 26, 12, 0, 10, tzinfo=UTC)
    assert evidence.window_end == datetime(2026, 11, 26, 12, 5, 3, tzinfo=UTC)


def test_evidence_of_a_trigger_lists_every_detector_verdict(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    reports = burst(5)
    sent = flat(observe_each(engine, state, reports))
    evidence = sent[0].evidence
    assert [rule.rule for rule in evidence.rules] == [d.name for d in engine.detectors] + [
        "audience_spike:all_categories"
    ]
    fired = {rule.rule: rule.fired for rule in evidence.rules}
    assert fired == {
        "audience_spike": True,
        "credible_report": False,
        "report_ramp": False,
        "audience_spike:all_categories": True,
    }
    assert all(rule.reason for rule in evidence.rules)
    assert evidence.window_start < evidence.window_end
    assert evidence.sample_report_ids == [report.report_id for report in reports]
    assert evidence.viewers == SMALL_AUDIENCE
    abuse_rates = sum(
        policy.category(c).base_rate_per_viewer_second for c in abuse_categories(policy)
    )
    assert evidence.expected_reports == pytest.approx(abuse_rates * SMALL_AUDIENCE * 300)
    assert [c.category for c in evidence.categories] == [Category.HARASSMENT]
    assert evidence.categories[0].expected_reports == pytest.approx(
        HARASSMENT_RATE * SMALL_AUDIENCE * 300
    )


def test_evidence_keeps_at_most_twenty_newest_sample_ids(policy: Policy) -> None:
    engine = DetectionEngine(with_changes(policy, lifecycle={"repeat_interval_seconds": 60}))
    state = BroadcastState("b-1")
    reports = burst(65)
    sent = flat(observe_each(engine, state, reports))
    update = sent[-1]
    assert update.event_action is EventAction.UPDATE
    assert update.evidence.reports == 65
    assert len(update.evidence.sample_report_ids) == MAX_SAMPLE_REPORT_IDS == 20
    assert update.evidence.sample_report_ids == [r.report_id for r in reports[-20:]]
    assert [rule.rule for rule in update.evidence.rules] == [d.name for d in engine.detectors] + [
        "audience_spike:all_categories"
    ]


def test_evidence_sample_ids_come_from_the_window(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    old = burst(3, prefix="old")
    observe_each(engine, state, old)
    fresh = burst(5, start=T0 + 1_000, prefix="fresh")
    sent = flat(observe_each(engine, state, fresh))
    assert len(sent) == 1
    evidence = sent[0].evidence
    assert evidence.reports == 5
    assert evidence.sample_report_ids == [report.report_id for report in fresh]


def test_reporters_whose_reports_left_the_window_do_not_trigger(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    engine.observe(state, make_report("x", at=T0 + 60))
    # three reports 58-60 s behind the newest: within the 60 s lateness, counted
    for index in range(3):
        assert not engine.observe(state, make_report(f"b{index}", at=T0 + index)).late
    # at T0+320 the window starts at T0+30: only x (T0+60) and y remain, 2 reporters
    sent = engine.observe(state, make_report("y", at=T0 + 320)).escalations
    assert state.windows[Category.HARASSMENT].reports == 2
    assert sent == []


# --- determinism and restarts -----------------------------------------------------------


def scenario(policy: Policy) -> list[tuple[str, Any]]:
    """Trigger, severity rise, sustain, resolve and a second incident, as steps."""
    floor = policy.spike.min_distinct_reporters
    steps: list[tuple[str, Any]] = [("report", r) for r in burst(floor + 2, reporter=ORDINARY)]
    steps.append(("report", make_report("flagger", at=T0 + 20, reporter=TRUSTED_FLAGGER)))
    steps.append(("report", make_report("extra", at=T0 + 120)))
    steps.append(("report", make_report("too-late", at=T0 + 20)))
    steps.append(("tick", T0 + 300))
    steps.extend(("report", r) for r in burst(3, start=T0 + 200, prefix="cs", category="spam"))
    # the spam reports keep the broadcast's incident active: its window is still improbable
    steps.append(("tick", T0 + 202 + resolve_wait(policy)))
    steps.extend(("report", r) for r in burst(floor, start=T0 + 3_000, prefix="second"))
    steps.append(("tick", T0 + 10_000))
    return steps


def play(
    engine: DetectionEngine,
    steps: list[tuple[str, Any]],
    state: BroadcastState | None = None,
    *,
    restart_at: int | None = None,
) -> tuple[list[bytes], BroadcastState]:
    """Run steps; a tick that reports evictable drops the state, as the shell does."""
    state = state if state is not None else BroadcastState("b-1")
    sent: list[bytes] = []
    for index, (kind, value) in enumerate(steps):
        if index == restart_at:
            state = BroadcastState.from_bytes(state.to_bytes())
        if kind == "report":
            escalations = engine.observe(state, value).escalations
        else:
            result = engine.tick(state, value)
            escalations = result.escalations
            if result.evictable:
                state = BroadcastState(state.broadcast_id)
        sent.extend(escalation.to_json_bytes() for escalation in escalations)
    return sent, state


def test_scenario_covers_trigger_update_and_resolve(policy: Policy) -> None:
    sent, _ = play(DetectionEngine(harassment_watched(policy)), scenario(policy))
    actions = [EscalationV2.model_validate_json(data).event_action for data in sent]
    assert actions == [
        EventAction.TRIGGER,
        EventAction.UPDATE,
        EventAction.RESOLVE,
        EventAction.TRIGGER,
        EventAction.RESOLVE,
    ]


def test_replaying_the_same_reports_gives_identical_escalations(policy: Policy) -> None:
    first, _ = play(DetectionEngine(harassment_watched(policy)), scenario(policy))
    second, _ = play(DetectionEngine(harassment_watched(policy)), scenario(policy))
    assert first == second


def test_state_round_trip_at_any_point_gives_the_same_escalations(policy: Policy) -> None:
    steps = scenario(policy)
    engine = DetectionEngine(harassment_watched(policy))
    expected, expected_state = play(engine, steps)
    for restart_at in range(len(steps)):
        sent, final_state = play(engine, steps, restart_at=restart_at)
        assert sent == expected, f"restart before step {restart_at}"
        assert final_state.to_bytes() == expected_state.to_bytes()


def test_decided_at_stamps_detected_at_but_not_starts_at(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    reports = burst(5)
    for report in reports[:-1]:
        engine.observe(state, report, decided_at=T0 + 900)
    sent = engine.observe(state, reports[-1], decided_at=T0 + 1_000).escalations
    assert sent[0].detected_at == utc(T0 + 1_000)
    assert sent[0].starts_at == utc(T0 + 4)
    assert sent[0].dedup_key == dedup_key_for("b-1", "hate-harassment", int((T0 + 4) * 1000))


_CATEGORIES = ["harassment", "child_safety", "spam"]
_PROFILES: list[dict[str, Any] | None] = [ORDINARY, TRUSTED_FLAGGER, None, HIGH_TRUST]

_REPORT_STEP = st.tuples(
    st.just("report"),
    st.one_of(  # seconds after the previous step: mostly a burst, sometimes late or a gap
        st.integers(min_value=0, max_value=10),
        st.integers(min_value=0, max_value=10),
        st.integers(min_value=-70, max_value=200),
    ),
    st.integers(min_value=0, max_value=11),  # reporter
    st.sampled_from(_CATEGORIES),
    st.integers(min_value=0, max_value=len(_PROFILES) - 1),
    st.sampled_from([None, 60, 100, 100, 5_000, 2_000_000]),
)
_TICK_STEP = st.tuples(
    st.just("tick"),
    st.integers(min_value=0, max_value=800),  # seconds past the newest event time
    st.just(0),
    st.just(""),
    st.just(0),
    st.none(),
)
_STEPS = st.lists(st.one_of(_REPORT_STEP, _REPORT_STEP, _REPORT_STEP, _TICK_STEP), max_size=45)

Step = tuple[str, int, int, str, int, int | None]


def build_steps(raw: list[Step]) -> list[tuple[str, Any]]:
    """Concrete reports and tick times; ticks never run behind the reports they follow, nor
    behind an earlier tick (a partition's clock never goes back, and a broadcast evicted at
    one tick cannot be reopened at an older time with the key of the incident it closed)."""
    clock = T0
    newest = T0
    ticked = T0
    steps: list[tuple[str, Any]] = []
    for index, (kind, delta, reporter, category, profile, viewers) in enumerate(raw):
        if kind == "tick":
            clock = ticked = max(ticked, newest + delta)
            steps.append(("tick", clock))
            continue
        clock += delta
        newest = max(newest, clock)
        steps.append(
            (
                "report",
                make_report(
                    f"u{reporter}",
                    at=clock,
                    category=category,
                    viewers=viewers,
                    reporter=_PROFILES[profile],
                    report_id=f"r{index}",
                ),
            )
        )
    return steps


def assert_lifecycle_invariants(sent: list[bytes], policy: Policy) -> None:
    last_sequence: dict[str, int] = {}
    resolved: set[str] = set()
    for data in sent:
        escalation = EscalationV2.model_validate_json(data)
        key = escalation.dedup_key
        assert key not in resolved, "event after resolve"
        if escalation.event_action is EventAction.TRIGGER:
            assert key not in last_sequence
            assert escalation.sequence == 1
        else:
            assert escalation.sequence == last_sequence[key] + 1
        last_sequence[key] = escalation.sequence
        if escalation.event_action is EventAction.RESOLVE:
            resolved.add(key)
            assert escalation.ends_at is not None
        else:
            assert escalation.ends_at is None
            assert [rule.rule for rule in escalation.evidence.rules] == (
                [
                    "credible_report",
                    "audience_spike",
                    "report_ramp",
                    "audience_spike:all_categories",
                ]
                if escalation.escalation_class.is_abuse
                else ["coordinated_reporting:all_categories"]
            )
        ceiling = policy.category(escalation.labels.category).max_severity
        assert escalation.severity.rank <= ceiling.rank
        assert escalation.evidence.window_start < escalation.evidence.window_end
        assert len(escalation.evidence.sample_report_ids) <= MAX_SAMPLE_REPORT_IDS


def policy_variant(policy: Policy, busy: bool) -> Policy:
    """The default policy, or one that also sends severity-rise and repeat updates."""
    if not busy:
        return policy
    return with_changes(harassment_watched(policy), lifecycle={"repeat_interval_seconds": 30})


@settings(max_examples=150, deadline=None)
@given(raw=_STEPS, busy=st.booleans())
def test_replay_into_fresh_engines_is_deterministic(
    policy: Policy, raw: list[Step], busy: bool
) -> None:
    policy = policy_variant(policy, busy)
    first, first_state = play(DetectionEngine(policy), build_steps(raw))
    second, second_state = play(DetectionEngine(policy), build_steps(raw))
    assert first == second
    assert first_state.to_bytes() == second_state.to_bytes()
    assert_lifecycle_invariants(first, policy)


@settings(max_examples=150, deadline=None)
@given(raw=_STEPS, busy=st.booleans(), split=st.floats(min_value=0.0, max_value=1.0))
def test_state_round_trip_mid_stream_changes_no_escalation(
    policy: Policy, raw: list[Step], busy: bool, split: float
) -> None:
    policy = policy_variant(policy, busy)
    steps = build_steps(raw)
    restart_at = int(split * len(steps))
    engine = DetectionEngine(policy)
    expected, expected_state = play(engine, steps)
    sent, final_state = play(engine, steps, restart_at=restart_at)
    assert sent == expected
    assert final_state.to_bytes() == expected_state.to_bytes()


def test_a_spam_report_emptying_the_broadcast_window_leaves_what_a_restart_would(
    policy: Policy,
) -> None:
    """Harassment reports share their window with the broadcast's; a spam report five
    minutes on expires it to empty. A stored state leaves an empty window out, so the
    engine drops it too: the next harassment report opens a fresh window either way
    (found by the round-trip property above)."""
    harassment = ("report", 0, 0, "harassment", 0, None)
    raw: list[Step] = [harassment] * 5
    raw += [("tick", 100, 0, "", 0, None), ("report", 200, 0, "spam", 0, None), harassment]
    steps = build_steps(raw)
    engine = DetectionEngine(policy)
    _, straight = play(engine, steps)
    _, restarted = play(engine, steps, restart_at=len(steps) - 1)
    assert straight.to_bytes() == restarted.to_bytes()
    assert list(straight.windows) == [Category.SPAM, Category.HARASSMENT]


# --- tick and eviction ------------------------------------------------------------------


def test_tick_on_an_idle_old_state_says_evictable(engine: DetectionEngine, policy: Policy) -> None:
    state = BroadcastState("b-1")
    observe_each(engine, state, burst(3))
    horizon = policy.window.length_seconds + policy.window.allowed_lateness_seconds
    assert engine.tick(state, T0 + 10).evictable is False
    result = engine.tick(state, T0 + 2 + horizon + 1)
    assert result.escalations == []
    assert result.evictable is True
    assert all(window.is_empty for window in state.windows.values())


def test_tick_keeps_a_state_with_an_open_incident(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    observe_each(engine, state, burst(5))
    assert engine.tick(state, T0 + 60).evictable is False


def test_tick_long_after_an_incident_resolves_and_evicts_at_once(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    observe_each(engine, state, burst(5))
    result = engine.tick(state, T0 + 100_000)
    assert [e.event_action for e in result.escalations] == [EventAction.RESOLVE]
    assert result.evictable is True


def test_tick_on_a_fresh_state_is_evictable(engine: DetectionEngine) -> None:
    assert engine.tick(BroadcastState("b-new"), T0).evictable is True


# --- inputs the decoder accepts must not crash the core ---------------------------------


def test_event_times_the_engine_cannot_represent_never_reach_it() -> None:
    """Year 1 once crashed the engine's window arithmetic; the contract now refuses it."""
    payload = {
        "schema_version": 1,
        "report_id": "r-ancient",
        "broadcast_id": "b-1",
        "reporter_id": "flagger",
        "category": "child_safety",
        "reported_at": "0001-01-01T00:01:00Z",
        "reporter": {"trusted_flagger": True},
    }
    decoded = decode_report(json.dumps(payload).encode())
    assert isinstance(decoded, Rejection)
    assert decoded.reason is DeadLetterReason.BAD_TIMESTAMP


def test_viewer_counts_beyond_float_range_never_reach_the_engine() -> None:
    """10**400 viewers once overflowed the expectation; the contract now caps the count."""
    payload = make_report("someone").model_dump(mode="json")
    payload["viewer_count"] = 10**400
    decoded = decode_report(json.dumps(payload).encode())
    assert isinstance(decoded, Rejection)
    assert decoded.reason is DeadLetterReason.INVALID_FIELD


def test_largest_accepted_viewer_count_is_decided_without_error(engine: DetectionEngine) -> None:
    report = make_report("someone", viewers=MAX_VIEWER_COUNT)
    observation = engine.observe(BroadcastState("b-1"), report)
    assert observation.escalations == []


# --- explanations only for escalations that are sent -------------------------------------


class CountingExplanations:
    """Wraps a detector and counts how often it is asked to explain itself."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.name = inner.name
        self.explained = 0

    def assess(self, odds: ViewOdds) -> Assessment | None:
        return self.inner.assess(odds)

    def explain(self, odds: ViewOdds) -> Verdict:
        self.explained += 1
        return self.inner.explain(odds)


def test_detectors_explain_themselves_only_for_escalations_that_are_sent(
    policy: Policy,
) -> None:
    counting = [CountingExplanations(detector) for detector in default_detectors()]
    engine = DetectionEngine(policy, detectors=counting)
    state = BroadcastState("b-1")
    sent = [e for report in burst(30) for e in engine.observe(state, report).escalations]
    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    assert [detector.explained for detector in counting] == [1, 1, 1]
    assert [rule.rule for rule in sent[0].evidence.rules] == [d.name for d in counting] + [
        "audience_spike:all_categories"
    ]


# --- tick: nothing to do costs nothing -------------------------------------------------------

_STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("report"),
            st.floats(min_value=-30, max_value=40),  # event time step
            st.integers(min_value=0, max_value=12),  # reporter
            st.sampled_from(["harassment", "spam", "child_safety"]),
            st.sampled_from([None, TRUSTED_FLAGGER, {"account_age_days": 1, "trust": 0.05}]),
        ),
        st.tuples(st.just("tick"), st.floats(min_value=0, max_value=900)),  # tick ahead
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(steps=_STEPS)
def test_tick_shortcut_decides_exactly_what_a_full_tick_decides(
    policy: Policy, steps: list[tuple[Any, ...]]
) -> None:
    engine = DetectionEngine(policy)
    shortcut, full = BroadcastState("b-1"), BroadcastState("b-1")
    clock = T0
    for index, step in enumerate(steps):
        if step[0] == "report":
            _, delta, reporter, category, standing = step
            clock += delta
            report = make_report(
                f"viewer-{reporter}", at=clock, category=category, reporter=standing
            )
            assert engine.observe(shortcut, report) == engine.observe(full, report)
        else:
            now = max(clock, shortcut.watermark or clock) + step[1]
            ticked, ticked_in_full = engine.tick(shortcut, now), engine._tick_in_full(full, now)
            assert ticked == ticked_in_full, index
        assert shortcut.to_bytes() == full.to_bytes()
        assert shortcut == full


# --- event time that one device cannot move --------------------------------------------------


ONSET = T0 + 200


def surge_with_one_skewed_clock(skew: float) -> list[tuple[ReportEvent, float]]:
    """One report before, then a surge of eight viewers 3 s apart; the first one's clock is
    ``skew`` seconds off. Each report comes with its record time (when it reached Kafka)."""
    before = [(make_report("early", at=ONSET - 10, reporter=ORDINARY), ONSET - 10)]
    surge = [
        (
            make_report(
                f"surge-{n}", at=ONSET + 3 * n + (skew if n == 0 else 0.0), reporter=ORDINARY
            ),
            ONSET + 3 * n,
        )
        for n in range(8)
    ]
    return before + surge


def observe_skewed(
    engine: DetectionEngine, skew: float
) -> tuple[BroadcastState, list[Observation]]:
    state = BroadcastState("b-1")
    observations = [
        engine.observe(state, report, record_time=record)
        for report, record in surge_with_one_skewed_clock(skew)
    ]
    return state, observations


@pytest.mark.parametrize("skew", [5.0, 60.0, 150.0, 3600.0])
def test_a_clock_ahead_counts_at_its_record_time_and_delays_no_one(
    engine: DetectionEngine, skew: float
) -> None:
    state, observations = observe_skewed(engine, skew)
    assert not any(o.late for o in observations), "every honest report of the surge counts"
    assert [o.clock for o in observations].count(ClockCorrection.AHEAD) == 1
    triggers = [e for o in observations for e in o.escalations]
    assert [e.event_action for e in triggers] == [EventAction.TRIGGER]
    assert triggers[0].detected_at == utc(ONSET + 3 * 3), "at the fifth distinct reporter"
    assert state.watermark == ONSET + 3 * 7


@pytest.mark.parametrize("skew", [-5.0, -30.0])
def test_a_clock_behind_within_the_lateness_still_counts(
    engine: DetectionEngine, skew: float
) -> None:
    state, observations = observe_skewed(engine, skew)
    assert not any(o.late or o.clock for o in observations)
    assert state.combined.distinct_reporters == 9


@pytest.mark.parametrize("skew", [-150.0, -3600.0])
def test_a_clock_far_behind_counts_at_its_record_time(engine: DetectionEngine, skew: float) -> None:
    state, observations = observe_skewed(engine, skew)
    assert not any(o.late for o in observations), "a report its record places in time counts"
    assert [o.clock for o in observations].count(ClockCorrection.BEHIND) == 1
    triggers = [e for o in observations for e in o.escalations]
    assert [e.event_action for e in triggers] == [EventAction.TRIGGER]
    assert triggers[0].detected_at == utc(ONSET + 3 * 3), "at the fifth distinct reporter"
    assert state.combined.distinct_reporters == 9


def test_a_report_whose_record_is_too_late_as_well_is_late(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    engine.observe(state, make_report("newest", at=ONSET), record_time=ONSET)
    lateness = engine.policy.window.allowed_lateness_seconds
    old = ONSET - lateness - 30

    observation = engine.observe(state, make_report("old", at=old), record_time=old + 10)

    assert observation.late
    assert observation.clock is None
    assert state.combined.distinct_reporters == 1


def test_a_clock_ahead_does_not_bring_the_audience_of_when_its_report_was_made(
    engine: DetectionEngine,
) -> None:
    """During a raid: a report made when the broadcast had 200 viewers, from a phone clock
    minutes ahead, reaches Kafka now that it has 20,000. It counts at its record time,
    the newest of the broadcast, but its audience is as old as the report."""
    state = BroadcastState("b-1")
    engine.observe(state, make_report("now", at=ONSET, viewers=20_000), record_time=ONSET)
    earlier = make_report("earlier", at=ONSET + 300, viewers=200)

    observation = engine.observe(state, earlier, record_time=ONSET + 1)

    assert observation.clock is ClockCorrection.AHEAD
    assert state.watermark == ONSET + 1
    assert state.viewers == 20_000


def test_within_the_tolerance_the_device_clock_is_kept(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    ahead = policy.window.clock_tolerance_seconds
    observation = engine.observe(state, make_report("a", at=T0 + ahead), record_time=T0)
    assert observation.clock is None
    assert state.watermark == T0 + ahead


# --- late delivery -----------------------------------------------------------------------


def test_a_surge_delivered_late_counts_towards_itself_and_is_decided_on_arrival(
    engine: DetectionEngine,
) -> None:
    """Ten viewers within 27 s, each report reaching Kafka 10-45 s after it was made, while
    the broadcast's own on-time reports keep arriving; decided at each record's time."""
    viewers = 5_000
    lags = [45, 10, 30, 20, 40, 15, 35, 25, 12, 18]
    late = [
        (
            make_report(f"surge-{n}", at=ONSET + 3 * n, viewers=viewers, reporter=ORDINARY),
            ONSET + 3 * n + lag,
        )
        for n, lag in enumerate(lags)
    ]
    on_time = [
        (
            make_report(
                f"other-{n}", at=T0 + 90 * n, viewers=viewers, category="spam", reporter=ORDINARY
            ),
            T0 + 90 * n,
        )
        for n in range(6)
    ]
    state = BroadcastState("b-1")
    observations = [
        engine.observe(state, report, decided_at=record, record_time=record)
        for report, record in sorted(late + on_time, key=lambda pair: pair[1])
    ]
    assert not any(o.late for o in observations)
    triggers = [e for o in observations for e in o.escalations]
    assert [e.event_action for e in triggers] == [EventAction.TRIGGER]
    assert triggers[0].detected_at.timestamp() - ONSET <= max(lags) + 10
    assert triggers[0].labels.category is Category.HARASSMENT
    assert state.windows[Category.HARASSMENT].distinct_reporters == len(lags)


def test_a_late_surge_is_judged_in_its_own_half_minute_after_a_clock_ahead_moved_the_newest(
    engine: DetectionEngine,
) -> None:
    """Twelve viewers of a 30,000-viewer broadcast within 14 s, every report reaching Kafka
    40 s later; the first to arrive comes from a phone clock five minutes ahead and counts
    at its record time, 40 s after the surge. The broadcast's newest half-minute then holds
    that report alone; the surge is improbable only in its own half-minute (the whole
    window expects a few reports of this audience), so that is where each of its reports
    is judged."""
    lag = 40.0
    reports = [
        (
            make_report(
                f"surge-{n}",
                at=ONSET + 1.2 * n + (300.0 if n == 0 else 0.0),
                viewers=30_000,
                reporter=ORDINARY,
            ),
            ONSET + 1.2 * n + lag + 0.5 * n,
        )
        for n in range(12)
    ]
    state = BroadcastState("b-1")
    observations = [
        engine.observe(state, report, decided_at=record, record_time=record)
        for report, record in reports
    ]

    assert [o.clock for o in observations].count(ClockCorrection.AHEAD) == 1
    assert state.watermark == ONSET + lag
    triggers = [e for o in observations for e in o.escalations]
    assert [e.event_action for e in triggers] == [EventAction.TRIGGER]
    assert triggers[0].detected_at.timestamp() < reports[-1][1], "before the surge is all in"


# --- trust mix: reporters the front end said nothing about ----------------------------------


def test_trust_mix_counts_the_share_of_reporters_whose_reports_carried_no_reporter_object(
    engine: DetectionEngine, policy: Policy
) -> None:
    assert policy.spike.min_distinct_reporters == 5, "the surge pages with its fifth reporter"
    said_nothing = None
    steps = [("a", said_nothing), ("b", said_nothing), ("c", ORDINARY)]
    steps += [("a", ORDINARY), ("d", said_nothing), ("e", ORDINARY)]
    reports = [
        make_report(reporter, at=T0 + index, reporter=standing)
        for index, (reporter, standing) in enumerate(steps)
    ]

    sent = flat(observe_each(engine, BroadcastState("b-1"), reports))

    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    mix = sent[0].evidence.trust_mix
    assert sent[0].evidence.distinct_reporters == 5
    assert mix.unknown == pytest.approx(2 / 5), "b and d; a said something in its second report"
    assert (mix.trusted, mix.suspect) == (0.0, 0.0)
    assert mix.ordinary == pytest.approx(3 / 5)
    assert mix.trusted + mix.ordinary + mix.suspect + mix.unknown == pytest.approx(1.0)
