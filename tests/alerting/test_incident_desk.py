"""One broadcast in trouble, one page (:mod:`alerting.incident_desk`): a surge spread across
categories is one incident, categories joining are updates, and only a strictly more
severe category, or one whose policy asks for its own incident, pages a second team."""

from __future__ import annotations

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import (
    HIGH_TRUST,
    ORDINARY,
    T0,
    TRUSTED_FLAGGER,
    burst,
    make_report,
    steady_broadcast,
    with_changes,
)

SPREAD = ["violent_threat", "harassment", "hateful_conduct", "other"]


def spread_surge(count: int, start: float = T0) -> list[ReportEvent]:
    return [
        make_report(
            f"viewer-{n}", at=start + n, category=SPREAD[n % len(SPREAD)], reporter=ORDINARY
        )
        for n in range(count)
    ]


def test_a_surge_spread_across_categories_pages_once_as_fast_as_one_category(
    engine: DetectionEngine,
) -> None:
    one_category = BroadcastState("b-1")
    spread = BroadcastState("b-1")
    by_one = [
        (r.event_time, e)
        for r in burst(12, reporter=ORDINARY)
        for e in engine.observe(one_category, r).escalations
    ]
    by_spread = [
        (r.event_time, e) for r in spread_surge(12) for e in engine.observe(spread, r).escalations
    ]
    triggers = [e for _, e in by_spread if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1, "one incident for the broadcast"
    assert by_spread[0][0] == by_one[0][0], "decided at the same reporter"
    trigger = triggers[0]
    assert trigger.severity is Severity.ERROR
    assert trigger.labels.category is Category.VIOLENT_THREAT, "the most severe category leads"
    assert trigger.evidence.leading_category is Category.VIOLENT_THREAT
    assert {c.category.value: c.distinct_reporters for c in trigger.evidence.categories} == {
        "violent_threat": 2,
        "harassment": 1,
        "hateful_conduct": 1,
        "other": 1,
    }
    assert trigger.evidence.distinct_reporters == 5
    assert len(spread.incidents) == 1


def test_categories_joining_an_open_incident_send_updates_not_pages(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    reports = burst(6, reporter=ORDINARY)
    reports += burst(
        10, start=T0 + 10, prefix="hate", category="hateful_conduct", reporter=ORDINARY
    )
    reports += burst(10, start=T0 + 30, prefix="other", category="other", reporter=ORDINARY)
    sent = [e for r in reports for e in engine.observe(state, r).escalations]
    assert [e.event_action for e in sent] == [EventAction.TRIGGER, EventAction.UPDATE]
    assert {e.dedup_key for e in sent} == {sent[0].dedup_key}
    assert [e.sequence for e in sent] == [1, 2]
    assert state.incidents["hate-harassment"].categories == [
        Category.HARASSMENT,
        Category.HATEFUL_CONDUCT,
    ], "other (warning) never joins an incident that pages"
    assert {c.category for c in sent[1].evidence.categories} == {
        Category.HARASSMENT,
        Category.HATEFUL_CONDUCT,
    }


def test_a_reporter_filing_several_categories_counts_once(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    for category in SPREAD:
        engine.observe(state, make_report("one-person", category=category, reporter=ORDINARY))
    assert state.combined.distinct_reporters == 1
    assert state.combined.reports == len(SPREAD)
    assert state.combined.weighted_reporters == 1.0


def test_a_strictly_more_severe_category_pages_its_own_team_and_the_two_name_each_other(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    first = [e for r in burst(6, reporter=ORDINARY) for e in engine.observe(state, r).escalations]
    child_safety = make_report(
        "flagger", at=T0 + 30, category="child_safety", reporter=TRUSTED_FLAGGER
    )
    second = engine.observe(state, child_safety).escalations

    harassment_key = first[0].dedup_key
    trigger = next(e for e in second if e.event_action is EventAction.TRIGGER)
    note = next(e for e in second if e.dedup_key == harassment_key)
    assert trigger.labels.team == "child-safety"
    assert trigger.severity is Severity.CRITICAL
    assert trigger.labels.category is Category.CHILD_SAFETY
    assert trigger.related == [harassment_key]
    assert note.event_action is EventAction.UPDATE
    assert note.related == [trigger.dedup_key]
    assert set(state.incidents) == {"hate-harassment", "child-safety"}


def violent_extremism_then_child_safety(engine: DetectionEngine) -> list[EscalationV2]:
    """Eight viewers report violent extremism within eight seconds (the broadcast's
    violent-extremism incident, its views still firing), then a trusted flagger reports
    child safety on the same broadcast: as severe, routed to another team."""
    state = BroadcastState("b-1")
    reports = burst(8, category="violent_extremism", reporter=ORDINARY)
    reports.append(
        make_report("flagger", at=T0 + 20, category="child_safety", reporter=TRUSTED_FLAGGER)
    )
    return [e for r in reports for e in engine.observe(state, r).escalations]


def test_a_child_safety_report_pages_its_own_team_on_an_equally_severe_incident(
    engine: DetectionEngine,
) -> None:
    sent = violent_extremism_then_child_safety(engine)
    triggers = [e for e in sent if e.event_action is EventAction.TRIGGER]
    assert [t.labels.team for t in triggers] == ["violent-extremism", "child-safety"]
    extremism, child_safety = triggers
    assert child_safety.severity is extremism.severity is Severity.CRITICAL
    assert child_safety.labels.category is Category.CHILD_SAFETY
    assert child_safety.related == [extremism.dedup_key]
    notes = [
        e
        for e in sent
        if e.dedup_key == extremism.dedup_key and e.event_action is EventAction.UPDATE
    ]
    assert notes[-1].related == [child_safety.dedup_key], "the open incident names the new one"


def test_without_its_own_team_a_child_safety_report_joins_the_open_one(
    policy: Policy,
) -> None:
    """The policy's ``own_team`` is what sends it there: without it, the
    report is an update of the violent-extremism incident naming child safety."""
    categories = policy.model_dump(mode="json")["categories"]
    shared = with_changes(
        policy, categories={"child_safety": {**categories["child_safety"], "own_team": False}}
    )
    sent = violent_extremism_then_child_safety(DetectionEngine(shared))
    assert [e.labels.team for e in sent if e.event_action is EventAction.TRIGGER] == [
        "violent-extremism"
    ]
    assert sent[-1].event_action is EventAction.UPDATE
    assert Category.CHILD_SAFETY in {c.category for c in sent[-1].evidence.categories}


def test_an_equally_severe_report_joins_an_open_child_safety_incident(
    engine: DetectionEngine,
) -> None:
    """``own_team`` is the child-safety team's: a credible violent-extremism report on a
    broadcast already in a child-safety incident is an update of it, not a second page."""
    state = BroadcastState("b-1")
    reports = [
        make_report("flagger-1", category="child_safety", reporter=TRUSTED_FLAGGER),
        make_report(
            "flagger-2", at=T0 + 20, category="violent_extremism", reporter=TRUSTED_FLAGGER
        ),
    ]
    sent = [e for r in reports for e in engine.observe(state, r).escalations]
    assert [e.event_action for e in sent] == [EventAction.TRIGGER, EventAction.UPDATE]
    assert set(state.incidents) == {"child-safety"}


def test_an_equally_severe_category_of_another_team_joins_the_open_incident(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    sent = [e for r in burst(6, reporter=ORDINARY) for e in engine.observe(state, r).escalations]
    sent += [
        e
        for r in burst(
            8, start=T0 + 10, prefix="threat", category="violent_threat", reporter=ORDINARY
        )
        for e in engine.observe(state, r).escalations
    ]
    assert [e.event_action for e in sent].count(EventAction.TRIGGER) == 1
    assert set(state.incidents) == {"hate-harassment"}
    assert Category.VIOLENT_THREAT in state.incidents["hate-harassment"].categories


def test_paging_categories_that_hold_the_share_together_lead_over_other(
    engine: DetectionEngine,
) -> None:
    """One viewer files harassment, one hateful conduct, then two high-trust viewers file
    ``other`` (a warning): neither paging category holds a fifth of the weight alone,
    together they hold a third of it, and the broadcast's incident pages at once, led by
    a paging category rather than opened at ``other``'s warning."""
    reports = [
        make_report("viewer-1", at=T0, category="harassment", reporter=ORDINARY),
        make_report("viewer-2", at=T0 + 1, category="hateful_conduct", reporter=ORDINARY),
        make_report("trusted-1", at=T0 + 2, category="other", reporter=HIGH_TRUST),
        make_report("trusted-2", at=T0 + 3, category="other", reporter=HIGH_TRUST),
    ]
    state = BroadcastState("b-1")
    sent = [e for r in reports for e in engine.observe(state, r).escalations]

    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    assert sent[0].severity is Severity.ERROR
    assert sent[0].labels.category in {Category.HARASSMENT, Category.HATEFUL_CONDUCT}
    assert sent[0].labels.team == "hate-harassment"


def test_a_spike_in_other_is_named_by_the_paging_categories_beside_it(
    engine: DetectionEngine, policy: Policy
) -> None:
    """A mid-size broadcast reported in every category at three times the population for
    200 s, then twelve viewers filing ``other`` within 30 s. ``other``'s own window fires
    first (its expectation is the smaller); named by ``other`` alone it opened a warning
    incident for one team, and the broadcast-wide view, firing on the same surge a few
    reports later, paged another: two incidents, the page the later."""
    viewers, onset = 14_647, 200.0
    before = steady_broadcast(policy, viewers=viewers, scale=3.0, seconds=onset + 120.0)
    surge = burst(
        12,
        start=T0 + onset,
        spacing=2.5,
        prefix="other",
        category="other",
        viewers=viewers,
        reporter=ORDINARY,
        broadcast_id="big",
    )
    state = BroadcastState("big")
    sent = [
        (report, escalation)
        for report in sorted(before + surge, key=lambda r: r.event_time)
        for escalation in engine.observe(state, report).escalations
    ]
    triggers = [(r, e) for r, e in sent if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1, "one incident for the broadcast"
    report, trigger = triggers[0]
    assert report.category is Category.OTHER, "paged on the report that made other improbable"
    assert trigger.severity is Severity.ERROR
    assert trigger.labels.category is not Category.OTHER
    assert trigger.evidence.leading_category is trigger.labels.category
    counts = {c.category: c.distinct_reporters for c in trigger.evidence.categories}
    assert counts[Category.OTHER] >= policy.spike.min_distinct_reporters, "other's count shown"


def test_a_spike_in_other_where_no_paging_category_holds_a_share_stays_a_warning(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    sent = [
        e
        for r in burst(8, prefix="other", category="other", reporter=ORDINARY)
        for e in engine.observe(state, r).escalations
    ]
    assert [(e.event_action, e.severity, e.labels.category) for e in sent] == [
        (EventAction.TRIGGER, Severity.WARNING, Category.OTHER)
    ]


def triggers_and_updates(escalations: list[EscalationV2]) -> list[tuple[EventAction, Severity]]:
    return [(e.event_action, e.severity) for e in escalations]


def test_a_surge_decided_long_after_its_reports_opens_its_incident_without_paging(
    engine: DetectionEngine, policy: Policy
) -> None:
    """A worker catching up on a backlog, or reading retained history on its first start,
    decides hours after the reports; the same reports decided as they come page."""
    limit = policy.lifecycle.page_within_seconds
    in_time, backlog = BroadcastState("b-1"), BroadcastState("b-1")
    reports = burst(8, reporter=HIGH_TRUST)
    live = [
        e
        for r in reports
        for e in engine.observe(in_time, r, decided_at=r.event_time + 1).escalations
    ]
    read_late = [
        e
        for r in reports
        for e in engine.observe(backlog, r, decided_at=r.event_time + limit + 60).escalations
    ]
    assert triggers_and_updates(live) == [(EventAction.TRIGGER, Severity.ERROR)]
    assert triggers_and_updates(read_late) == [(EventAction.TRIGGER, Severity.WARNING)]
    [late] = read_late
    assert (
        f"not paged, decided {limit + 60:.0f} s after the broadcast's newest report" in late.summary
    )
    why = late.evidence.rules[0]
    assert (why.rule, why.fired) == ("page_within_seconds", True)
    assert why.figures == {
        "decided_after_newest_report_seconds": limit + 60,
        "page_within_seconds": limit,
    }
    assert all(rule.rule != "page_within_seconds" for rule in live[0].evidence.rules)
    assert late.dedup_key == live[0].dedup_key


def test_a_surge_whose_reporters_clocks_all_run_slow_is_no_backlog_and_pages(
    engine: DetectionEngine, policy: Policy
) -> None:
    """Every report says it was made long before it reached Kafka, and each reaches Kafka
    as it is decided: the records, not the clocks, say whether the worker is behind."""
    slow = policy.lifecycle.page_within_seconds + 300
    state = BroadcastState("b-1")
    escalations = [
        e
        for r in burst(8, reporter=HIGH_TRUST)
        for e in engine.observe(
            state, r, decided_at=r.event_time + slow + 1, record_time=r.event_time + slow
        ).escalations
    ]
    assert triggers_and_updates(escalations) == [(EventAction.TRIGGER, Severity.ERROR)]


def test_an_incident_opened_from_a_backlog_pages_once_the_abuse_is_decided_in_time(
    engine: DetectionEngine, policy: Policy
) -> None:
    limit = policy.lifecycle.page_within_seconds
    state = BroadcastState("b-1")
    backlog = burst(8, reporter=HIGH_TRUST)
    caught_up_at = backlog[-1].event_time + limit + 60
    opened = [
        e for r in backlog for e in engine.observe(state, r, decided_at=caught_up_at).escalations
    ]
    still_going = burst(6, start=caught_up_at, prefix="later", reporter=HIGH_TRUST)
    paged = [
        e
        for r in still_going
        for e in engine.observe(state, r, decided_at=r.event_time).escalations
    ]
    assert triggers_and_updates(opened) == [(EventAction.TRIGGER, Severity.WARNING)]
    assert triggers_and_updates(paged)[:1] == [(EventAction.UPDATE, Severity.ERROR)]
    assert paged[0].dedup_key == opened[0].dedup_key
