"""A broadcast whose reports carry no ``viewer_count`` (older apps, clips, some platforms).

Its expectation counts the policy's default audience; its own history must weigh
its reports against that same audience, and the learner, which estimates reports
per viewer, must learn nothing from a broadcast whose real audience is unknown.
"""

from __future__ import annotations

import pytest

from alerting.baseline import BaseRateLearner
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from tests.alerting.helpers import ORDINARY, T0, make_report

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


def test_its_history_weighs_its_reports_against_the_default_audience_it_is_judged_by(
    engine: DetectionEngine, policy: Policy
) -> None:
    spacing = policy.history.lag_seconds / len(CATEGORIES)  # all still pending, undecayed
    state, _ = quiet_reports(engine, None, spacing=spacing)

    pending = state.history.pending.values()
    assert sum(expected for _, expected in pending) == pytest.approx(
        engine.prior_total * policy.spike.default_viewers * spacing * (len(CATEGORIES) - 1)
    )
    assert sum(weight for weight, _ in pending) > 0
