"""Scoring against labels, and the fixed-threshold yardstick."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from alerting.policy import Policy, load_policy
from models.escalation import Escalation, EscalationClass, EscalationLabels, EventAction, Severity
from models.escalation_v2 import upgrade_v1
from models.report import Category
from streams.replay.fixed_rule import fixed_threshold_triggers
from streams.replay.labels import LabelKind, LabelledLog, LabelledReport, Trigger
from streams.replay.scoring import ScoreCard, score, triggers_of_wire
from tests.models.test_escalation import escalation as escalation_v1

H = Category.HARASSMENT
FLOOR = load_policy().spike.min_distinct_reporters


def label(
    at: float, broadcast: str, kind: LabelKind, incident: str | None = None
) -> LabelledReport:
    return LabelledReport(at, broadcast, H, kind, incident, delivered_at=at)


def page(
    at: float,
    broadcast: str,
    cls: EscalationClass = EscalationClass.REPORT_SPIKE,
    category: Category = H,
    key: str = "",
) -> Trigger:
    return Trigger(broadcast, category, at, Severity.ERROR, cls, "hate-harassment", key)


LABELS = [
    label(0, "bg", LabelKind.BACKGROUND),
    label(100, "s1", LabelKind.SURGE, "s1"),
    label(105, "s1", LabelKind.SURGE, "s1"),
    label(200, "s2", LabelKind.SURGE, "s2"),
    label(300, "br", LabelKind.COORDINATED, "br"),
    label(3600, "bg", LabelKind.BACKGROUND),
]


def test_score_counts_recall_false_pages_delays_and_single_triggers() -> None:
    triggers = [
        page(104, "s1"),
        page(130, "s1"),
        page(50, "bg"),
        Trigger(
            "br", H, 310, Severity.WARNING, EscalationClass.COORDINATED_REPORTING, "coordination"
        ),
    ]
    card = score(LABELS, triggers, floor=FLOOR)
    assert (card.abuse_incidents, card.detected, card.recall) == (2, 1, 0.5)
    assert (card.pages, card.false_pages) == (3, 1)
    assert card.precision == pytest.approx(2 / 3)
    assert card.false_pages_per_hour == pytest.approx(1.0)
    assert card.false_pages_by_kind == {"background": 1}
    assert card.incidents_paged_once == 0  # s1 paged twice, s2 never
    assert card.pages_per_incident == 2.0
    assert card.missed == ["s2"]
    assert (card.coordinated_incidents, card.coordinated_classed) == (1, 1)
    assert card.median_delay(LabelKind.SURGE) == 4.0


def test_paging_a_coordinated_burst_or_before_the_abuse_began_is_a_false_page() -> None:
    card = score(LABELS, [page(301, "br"), page(99, "s1")], floor=FLOOR)
    assert card.false_pages == 2
    assert card.detected == 0
    assert card.false_pages_by_kind == {"coordinated": 1, "surge": 1}


def test_triggers_on_several_categories_of_one_broadcast_are_one_incident_paged_thrice() -> None:
    spread = [
        LabelledReport(100, "sp", c, LabelKind.SPREAD_SURGE, "sp", delivered_at=100)
        for c in (H, Category.HATEFUL_CONDUCT, Category.VIOLENT_THREAT)
    ]
    triggers = [
        page(110, "sp"),
        page(112, "sp", category=Category.HATEFUL_CONDUCT),
        page(130, "sp", category=Category.GRAPHIC_VIOLENCE),
    ]
    card = score(spread, triggers, floor=FLOOR)
    assert (card.detected, card.false_pages, card.abuse_pages) == (1, 0, 3)
    assert (card.incidents_paged_once, card.pages_per_incident) == (0, 3.0)
    assert card.median_delay(LabelKind.SPREAD_SURGE) == 10.0


def test_a_child_safety_page_on_a_surging_broadcast_goes_to_its_own_incident() -> None:
    cs = Category.CHILD_SAFETY
    labels = [
        LabelledReport(100, "b", H, LabelKind.SURGE, "surge", delivered_at=100),
        LabelledReport(160, "b", cs, LabelKind.CHILD_SAFETY, "cs", delivered_at=160),
    ]
    card = score(labels, [page(108, "b"), page(160, "b", category=cs)], floor=FLOOR)
    assert (card.detected, card.incidents_paged_once, card.false_pages) == (2, 2, 0)
    assert card.delays(LabelKind.CHILD_SAFETY) == [0.0]


def test_delay_runs_from_the_onset_to_the_decision_and_late_incidents_keep_their_lag(
    policy: Policy,
) -> None:
    labels = [
        LabelledReport(100, "s", H, LabelKind.SURGE, "s", delivered_at=130, onset=95),
        LabelledReport(110, "s", H, LabelKind.SURGE, "s", delivered_at=140, onset=95),
    ]
    card = score(labels, [page(145, "s")], floor=FLOOR)
    assert card.delays(LabelKind.SURGE) == [], "late: judged against its lag, not pooled"
    assert card.late(LabelKind.SURGE) == [(50.0, 30.0)]
    fixed = fixed_threshold_triggers(labels, policy, reports=2)
    assert [(t.at, t.team) for t in fixed] == [(140, "hate-harassment")]  # as reports arrive


def test_warnings_never_detect_and_a_paged_campaign_is_counted() -> None:
    warning = Trigger("s1", H, 104, Severity.WARNING, EscalationClass.REPORT_SPIKE, "t")
    card = score(LABELS, [warning, page(320, "br")], floor=FLOOR)
    assert card.detected == 0
    assert (card.campaigns_paged, card.false_pages_by_kind) == (1, {"coordinated": 1})


def test_an_incident_is_open_from_its_abuses_last_report_to_its_resolve() -> None:
    """s1's last report was made at 105 s; its one page's incident resolved at 800 s. s2's
    second page opened an incident that never resolved."""
    triggers = [page(104, "s1", key="k1"), page(201, "s2", key="k2"), page(260, "s2", key="k3")]
    card = score(LABELS, triggers, {"k1": 800.0, "k2": 900.0}, floor=FLOOR)
    assert card.open_after == [695.0]
    assert card.never_resolved == 1
    assert card.open_after_abuse() == (695.0, 695.0)
    assert card.as_dict()["open_after_abuse_seconds"] == (695.0, 695.0)
    assert score(LABELS, triggers, floor=FLOOR).open_after_abuse() is None, (
        "no resolves, nothing scored"
    )


def test_cards_of_several_seeds_pool_counts_and_delays() -> None:
    first = score(LABELS, [page(104, "s1"), page(50, "bg")], floor=FLOOR)
    second = score(LABELS, [page(206, "s2")], floor=FLOOR)
    both = ScoreCard.combined([first, second])
    assert (both.abuse_incidents, both.detected, both.false_pages) == (4, 2, 1)
    assert both.delays(LabelKind.SURGE) == [4.0, 6.0]
    assert both.missed == ["s2", "s1"]
    closed = score(LABELS, [page(104, "s1", key="k")], {"k": 705.0}, floor=FLOOR)
    assert ScoreCard.combined([closed, closed, first]).open_after == [600.0, 600.0]


def test_escalations_of_either_version_are_read_from_their_wire_form() -> None:
    def v1(broadcast_id: str, at: float, action: EventAction = EventAction.TRIGGER) -> Escalation:
        labels = EscalationLabels(broadcast_id=broadcast_id, category=H, team="hate-harassment")
        moment = datetime.fromtimestamp(at, tz=UTC)
        return escalation_v1(
            labels=labels, event_action=action, detected_at=moment, starts_at=moment
        )

    lines = [
        v1("s1", 104).to_json_bytes(),
        b"",
        upgrade_v1(v1("s2", 206)).to_json_bytes(),
        v1("s1", 400, EventAction.RESOLVE).to_json_bytes(),
    ]
    triggers = triggers_of_wire(lines)
    assert [(t.broadcast_id, t.at) for t in triggers] == [("s1", 104.0), ("s2", 206.0)]
    assert score(LABELS, triggers, floor=FLOOR).recall == 1.0


def reporter(
    at: float, who: str, weight: float = 1.0, *, delivered_at: float | None = None
) -> LabelledReport:
    return LabelledReport(
        at,
        "f",
        H,
        LabelKind.SURGE,
        "f",
        delivered_at=at if delivered_at is None else delivered_at,
        onset=100,
        reporter_id=who,
        weight=weight,
    )


def test_an_incidents_floor_is_when_its_own_reporters_first_weigh_the_spikes_floor() -> None:
    """Each reporter counts once, at its first report; a suspect weighs nothing and a
    trusted flagger twice, as the worker weighs them."""
    labels = [
        reporter(101, "a"),
        reporter(102, "a"),
        reporter(103, "suspect", 0.0),
        reporter(104, "b", 1.4),
        reporter(105, "flagger", 2.0),
        reporter(106, "c", 0.0),
        reporter(107, "d"),
        reporter(108, "e"),
    ]
    [incident] = LabelledLog.of(labels).incidents.values()
    assert incident.floor_reached(5) == 107, "1 + 1.4 + 2 + 1 = 5.4 weighs 5 whole reporters"
    assert incident.floor_reached(6) == 108
    assert incident.floor_reached(7) == math.inf
    card = score(labels, [page(109, "f")], floor=5)
    assert card.median_floor(LabelKind.SURGE) == 7.0
    assert card.delays(LabelKind.SURGE) == [9.0], "two seconds beyond what the traffic allowed"
    assert score(labels, [], floor=7).as_dict()["median_floor_seconds"] == {
        "surge": None,
        "spread_surge": None,
    }, "never reached: JSON has no infinity"


def test_the_floor_counts_reports_as_they_reach_kafka_and_for_missed_incidents_too() -> None:
    """A reporter delivered late adds to the floor when it arrives, not when it was made;
    an incident nobody paged still has the floor its traffic set."""
    labels = [reporter(100 + i, f"r{i}", delivered_at=140 + i) for i in range(5)]
    card = score(labels, [], floor=5)
    assert card.detected == 0
    assert card.median_floor(LabelKind.SURGE) is None, "late: not among the on-time floors"
    assert card.floors(LabelKind.SURGE) == [(44.0, 40.0)]
    assert card.as_dict()["late_floors"] == [{"floor_seconds": 44.0, "delivery_lag_seconds": 40.0}]
    pooled = ScoreCard.combined([card, score(labels[:4], [], floor=5)])
    assert pooled.floors(LabelKind.SURGE) == [(44.0, 40.0), (math.inf, 40.0)]
    assert pooled.floor == 5
