"""Scoring against labels, and the fixed-threshold yardstick."""

from __future__ import annotations

import pytest

from alerting.policy import Policy
from models.escalation import EscalationClass, Severity
from models.report import Category
from streams.replay.scoring import (
    LabelKind,
    LabelledReport,
    Trigger,
    fixed_threshold_triggers,
    score,
)

H = Category.HARASSMENT


def label(
    at: float, broadcast: str, kind: LabelKind, incident: str | None = None
) -> LabelledReport:
    return LabelledReport(at, broadcast, H, kind, incident)


def page(at: float, broadcast: str, cls: EscalationClass = EscalationClass.REPORT_SPIKE) -> Trigger:
    return Trigger(broadcast, H, at, Severity.ERROR, cls)


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
        Trigger("br", H, 310, Severity.WARNING, EscalationClass.COORDINATED_REPORTING),
    ]
    card = score(LABELS, triggers)
    assert (card.abuse_incidents, card.detected, card.recall) == (2, 1, 0.5)
    assert (card.pages, card.false_pages) == (3, 1)
    assert card.precision == pytest.approx(2 / 3)
    assert card.false_pages_per_hour == pytest.approx(1.0)
    assert card.false_pages_by_kind == {"background": 1}
    assert card.incidents_with_one_trigger == 0  # s1 paged twice, s2 never
    assert (card.coordinated_incidents, card.coordinated_classed) == (1, 1)
    assert card.median_delay(LabelKind.SURGE) == 4.0


def test_paging_a_coordinated_burst_or_before_the_abuse_began_is_a_false_page() -> None:
    card = score(LABELS, [page(301, "br"), page(99, "s1")])
    assert card.false_pages == 2
    assert card.detected == 0
    assert card.false_pages_by_kind == {"coordinated": 1, "surge": 1}


def test_fixed_threshold_pages_once_per_busy_spell(policy: Policy) -> None:
    busy = [label(float(t), "v", LabelKind.VIRAL) for t in range(0, 600, 20)]
    later = [label(2000.0 + t, "v", LabelKind.VIRAL) for t in range(5)]
    triggers = fixed_threshold_triggers(busy + later, policy, reports=5)
    assert [t.at for t in triggers] == [80.0, 2004.0]
    assert all(t.severity is Severity.ERROR for t in triggers)


def test_fixed_threshold_never_fires_on_a_single_report(policy: Policy) -> None:
    assert fixed_threshold_triggers([label(0, "cs", LabelKind.CHILD_SAFETY, "cs")], policy) == []
