"""A broadcast whose reports carry no ``viewer_count`` (older apps, clips, some platforms).

It has no scale: it is judged by its categories' shares of its own reporters, never
against the policy's default audience, and neither the learner (which estimates reports
per viewer) nor its own history learns from it.
"""

from __future__ import annotations

import random

import pytest

from alerting.baseline import BaseRateLearner, prior_rates
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.report import Category, ReportEvent
from tests.alerting.helpers import (
    HIGH_TRUST,
    ORDINARY,
    T0,
    burst,
    make_report,
    ordinary_reports,
    poisson_arrivals,
    steady_broadcast,
)

CATEGORIES = ("harassment", "spam", "hateful_conduct", "other")
"""One ordinary reporter each: too few for any detector, so every report may teach."""


def quiet_reports(
    engine: DetectionEngine, viewers: int | None, spacing: float
) -> tuple[BroadcastState, BaseRateLearner]:
    state, learner = BroadcastState("b-1"), BaseRateLearner()
    for index, category in enumerate(CATEGORIES):
        report = make_report(
            f"viewer-{index}",
            at=T0 + index * spacing,
            category=category,
            viewers=viewers,
            reporter=ORDINARY,
        )
        assert engine.observe(state, report, learner=learner).escalations == []
    return state, learner


def test_a_measured_broadcast_teaches_the_learner_its_reports_and_viewer_seconds(
    engine: DetectionEngine, policy: Policy
) -> None:
    _, learner = quiet_reports(engine, 5_000, spacing=20.0)

    half_life = policy.learning.level_half_life_seconds
    gaps = len(CATEGORIES) - 1
    decayed = sum(5_000 * 20.0 * 0.5 ** (20.0 * (gaps - n) / half_life) for n in range(1, gaps + 1))
    assert learner.exposure == pytest.approx(decayed)
    assert sum(learner.weights.values()) > 0


def test_a_broadcast_without_a_viewer_count_teaches_the_learner_nothing(
    engine: DetectionEngine,
) -> None:
    _, learner = quiet_reports(engine, None, spacing=20.0)

    assert learner.weights == {}, "its reports would count against viewer-seconds never seen"
    assert learner.exposure == 0.0


def test_its_history_learns_nothing_while_its_audience_is_unknown(
    engine: DetectionEngine,
) -> None:
    """Counted against the default audience, its reports would make it look louder than
    it is once its audience is known."""
    state, _ = quiet_reports(engine, None, spacing=20.0)
    assert state.history.is_empty


def unmeasured(reports: list[ReportEvent]) -> list[ReportEvent]:
    return [report.model_copy(update={"viewer_count": None}) for report in reports]


def test_a_large_broadcast_without_a_viewer_count_pages_nobody_on_its_normal_rate(
    engine: DetectionEngine, policy: Policy
) -> None:
    """300k viewers at three times the population's rate, every report without its
    viewer count: judged against the default audience, it would page within seconds."""
    state = BroadcastState("big")
    sent = [
        escalation
        for report in unmeasured(steady_broadcast(policy, viewers=300_000, scale=3.0, seconds=600))
        for escalation in engine.observe(state, report).escalations
    ]
    assert [e for e in sent if e.severity.pages] == []


def test_a_surge_in_one_category_on_a_broadcast_without_a_viewer_count_pages(
    engine: DetectionEngine, policy: Policy
) -> None:
    """The same broadcast, then credible viewers pile onto harassment: far beyond the
    category's share of the broadcast's own reporters, whatever its size."""
    state = BroadcastState("big")
    background = unmeasured(steady_broadcast(policy, viewers=300_000, scale=1.0, seconds=300))
    surge = unmeasured(
        burst(40, start=T0 + 300, spacing=0.5, reporter=HIGH_TRUST, broadcast_id="big")
    )
    sent = [
        escalation
        for report in sorted(background + surge, key=lambda r: r.event_time)
        for escalation in engine.observe(state, report).escalations
    ]
    paged = [e for e in sent if e.severity.pages]
    assert paged, "the surge pages"
    assert paged[0].labels.category is Category.HARASSMENT
    assert paged[0].detected_at.timestamp() <= T0 + 300 + 20
    assert "viewer count unknown" in paged[0].summary


def test_a_small_surge_in_one_category_on_a_broadcast_without_a_viewer_count_pages(
    engine: DetectionEngine, policy: Policy
) -> None:
    """Nine ordinary viewers within 16 s, all reporting harassment, on a broadcast none of
    whose reports carries a viewer count: given nine reporters, all nine choosing a
    category that takes a sixth of the platform's reports is the improbable part. Judged
    as a Poisson count of the same expectation it was not improbable enough."""
    share = prior_rates(policy)[Category.HARASSMENT] / sum(prior_rates(policy).values())
    assert share < 0.2
    state = BroadcastState("b-1")
    surge = unmeasured(burst(9, spacing=2.0, reporter=ORDINARY))
    sent = [e for report in surge for e in engine.observe(state, report).escalations]

    paged = [e for e in sent if e.severity.pages]
    assert [e.labels.category for e in paged] == [Category.HARASSMENT]


def tenfold_harassment(
    policy: Policy, onset: float, viewers: int, scale: float
) -> list[ReportEvent]:
    """Ordinary viewers adding nine times harassment's usual rate from ``onset`` on."""
    rate = policy.category(Category.HARASSMENT).base_rate_per_viewer_second * viewers * scale
    return unmeasured(
        burst(
            60,
            start=onset,
            spacing=1.0 / (9 * rate),
            prefix="surge",
            reporter=ORDINARY,
            broadcast_id="big",
        )
    )


def test_a_category_jumping_tenfold_on_a_large_broadcast_without_a_viewer_count_pages_in_seconds(
    engine: DetectionEngine, policy: Policy
) -> None:
    """Judged in the whole window only, the jump was diluted by the minutes of ordinary
    reports before it; in the last half-minute alone, the category's share is plain."""
    viewers, scale, onset = 300_000, 2.0, T0 + 300
    background = unmeasured(steady_broadcast(policy, viewers=viewers, scale=scale, seconds=400))
    state = BroadcastState("big")
    sent = [
        escalation
        for report in sorted(
            background + tenfold_harassment(policy, onset, viewers, scale),
            key=lambda r: r.event_time,
        )
        for escalation in engine.observe(state, report).escalations
    ]
    paged = [e for e in sent if e.severity.pages]
    assert paged, "the jump pages"
    assert paged[0].labels.category is Category.HARASSMENT
    assert paged[0].detected_at.timestamp() - onset <= 10.0
    assert "within 30 s" in paged[0].summary


def test_a_raid_on_a_broadcast_without_a_viewer_count_pages_nobody(
    engine: DetectionEngine, policy: Policy
) -> None:
    """An audience jumping a hundredfold: every category's count jumps, none's share."""
    generator = random.Random(5)

    def arrivals(viewers: int, start: float, end: float) -> list[tuple[float, str, Category, int]]:
        return [
            (at, "big", category, viewers)
            for category in Category
            for at in poisson_arrivals(
                policy.category(category).base_rate_per_viewer_second * viewers * 3.0,
                start,
                end,
                generator,
            )
        ]

    reports = unmeasured(ordinary_reports(arrivals(3_000, 0, 200) + arrivals(300_000, 200, 300)))
    state = BroadcastState("big")
    sent = [e for report in reports for e in engine.observe(state, report).escalations]
    assert len(reports) > 100
    assert [e for e in sent if e.severity.pages] == []
