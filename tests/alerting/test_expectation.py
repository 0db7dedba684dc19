"""What a broadcast is expected to draw beside its open incident (alerting/expectation.py)."""

from __future__ import annotations

import pytest

from alerting.baseline import prior_rates
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.report import Category
from tests.alerting.helpers import ORDINARY, T0, make_report

VIEWERS = 200_000


def loudness_beside_harassment(engine: DetectionEngine, others: int) -> tuple[float, float]:
    """A harassment surge opens an incident; ``others`` ordinary reporters of spam and
    other arrive within the same half-minute. The loudness beside the incident, and the
    rest of the broadcast's expectation at its level."""
    state = BroadcastState("b-1")
    reports = [
        make_report(f"h-{n}", at=T0 + n * 0.2, viewers=VIEWERS, reporter=ORDINARY)
        for n in range(80)
    ] + [
        make_report(
            f"o-{n}",
            at=T0 + n * 0.1,
            viewers=VIEWERS,
            reporter=ORDINARY,
            category=("spam", "other")[n % 2],
        )
        for n in range(others)
    ]
    for report in sorted(reports, key=lambda r: r.event_time):
        engine.observe(state, report)
    assert state.incidents, "the surge opened an incident"
    expectation = engine.expectation
    rates = expectation.rates(state, expectation.population(None))
    priors = prior_rates(engine.policy)
    rest_rate = sum(rate for c, rate in priors.items() if c is not Category.HARASSMENT)
    rest_expected = rest_rate * rates.factor * VIEWERS * engine.policy.window.length_seconds
    return expectation.loudness_beside(state, rates), rest_expected


def test_the_rest_of_a_broadcast_as_loud_as_its_level_raises_nothing(
    engine: DetectionEngine,
) -> None:
    loudness, rest_expected = loudness_beside_harassment(engine, others=0)
    assert loudness == 1.0
    assert rest_expected > 50, "a large broadcast: the rest is expected to be heard"


def test_the_rest_of_a_broadcast_twice_its_level_is_read_as_that_shrunk_by_the_prior(
    engine: DetectionEngine, policy: Policy
) -> None:
    _, rest_expected = loudness_beside_harassment(engine, others=0)
    others = round(2 * rest_expected)
    loudness, _ = loudness_beside_harassment(engine, others=others)
    prior = policy.history.prior_reports
    assert loudness == pytest.approx((prior + others) / (prior + rest_expected), rel=1e-6), (
        "an ordinary reporter weighs 1"
    )
    assert 1.5 < loudness < 2.0
