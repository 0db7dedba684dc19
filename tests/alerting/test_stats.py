"""Tests for alerting/stats.py: the Poisson and binomial upper tails, checked against
exact sums."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.stats import (
    binomial_upper_tail,
    poisson_upper_tail,
    wandering_rate_upper_tail,
    wandering_share_upper_tail,
)


def exact_upper_tail(observed: int, expected: float) -> float:
    """P(X >= observed), X ~ Poisson(expected), summed term by term from the pmf.

    The tail is summed directly (not 1 - CDF) so tiny p-values keep their precision.
    """
    if observed <= 0:
        return 1.0
    terms = []
    log_expected = math.log(expected)
    for k in range(observed, observed + 2000):
        terms.append(math.exp(k * log_expected - expected - math.lgamma(k + 1)))
    return math.fsum(terms)


def exact_upper_tail_by_cdf(observed: int, expected: float) -> float:
    """1 - P(X <= observed - 1) with exact factorials; fine where the tail is not tiny."""
    below = math.fsum(
        math.exp(-expected) * expected**k / math.factorial(k) for k in range(observed)
    )
    return 1.0 - below


def test_poisson_upper_tail_matches_docstring_example() -> None:
    # P(X >= 3 | mean 1) = 1 - e^-1 * (1 + 1 + 1/2)
    assert poisson_upper_tail(3, 1.0) == pytest.approx(1 - math.exp(-1) * 2.5, rel=1e-12)
    assert round(poisson_upper_tail(3, 1.0), 4) == 0.0803


@pytest.mark.parametrize(
    ("observed", "expected"),
    [(1, 0.5), (2, 1.0), (5, 0.009), (5, 0.6), (10, 2.0), (25, 10.0), (40, 3.5), (60, 59.5)],
)
def test_poisson_upper_tail_above_the_mean_equals_exact_sum(observed: int, expected: float) -> None:
    assert poisson_upper_tail(observed, expected) == pytest.approx(
        exact_upper_tail(observed, expected), rel=1e-9
    )


def test_poisson_upper_tail_single_term_case_is_exact() -> None:
    # With a tiny mean, P(X >= 1) = 1 - e^-m, and the k=1 term alone is m e^-m.
    mean = 1e-9
    assert poisson_upper_tail(1, mean) == pytest.approx(-math.expm1(-mean), rel=1e-9)


@pytest.mark.parametrize("expected", [0.0, 1e-9, 3.0, 1e6])
def test_poisson_upper_tail_of_zero_or_fewer_observations_is_one(expected: float) -> None:
    assert poisson_upper_tail(0, expected) == 1.0
    assert poisson_upper_tail(-3, expected) == 1.0


@pytest.mark.parametrize("observed", [1, 5, 1000])
def test_poisson_upper_tail_with_zero_expectation_is_zero(observed: int) -> None:
    assert poisson_upper_tail(observed, 0.0) == 0.0


def test_poisson_upper_tail_far_beyond_the_mean_underflows_to_zero_without_error() -> None:
    assert poisson_upper_tail(10_000, 1.0) == 0.0


def test_poisson_upper_tail_just_above_a_large_mean_is_about_one_half() -> None:
    # For a large mean the Poisson is nearly normal: P(X >= mean + 1) is a bit under 1/2.
    value = poisson_upper_tail(1_000_001, 1_000_000.0)
    assert 0.45 < value < 0.5


@settings(max_examples=300, deadline=None)
@given(
    observed=st.integers(min_value=1, max_value=80),
    expected=st.floats(min_value=1e-4, max_value=60.0, allow_nan=False),
)
def test_poisson_upper_tail_matches_exact_sum_above_the_mean(
    observed: int, expected: float
) -> None:
    if observed <= expected:
        observed = math.floor(expected) + 1
    assert poisson_upper_tail(observed, expected) == pytest.approx(
        exact_upper_tail(observed, expected), rel=1e-9, abs=1e-300
    )


@settings(max_examples=300, deadline=None)
@given(
    expected=st.floats(min_value=1.0, max_value=100.0, allow_nan=False),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
def test_poisson_upper_tail_at_or_below_the_mean_is_large_and_close_to_exact(
    expected: float, fraction: float
) -> None:
    observed = max(1, math.floor(expected * fraction))
    value = poisson_upper_tail(observed, expected)
    # "plenty": never mistaken for an alarming p-value, and near the exact figure
    assert value > 0.3
    assert abs(value - exact_upper_tail_by_cdf(observed, expected)) < 0.1


@settings(max_examples=300, deadline=None)
@given(
    observed=st.integers(min_value=0, max_value=200),
    expected=st.floats(min_value=1e-6, max_value=150.0, allow_nan=False),
)
def test_poisson_upper_tail_is_a_probability_that_falls_with_more_observations(
    observed: int, expected: float
) -> None:
    here = poisson_upper_tail(observed, expected)
    next_up = poisson_upper_tail(observed + 1, expected)
    assert 0.0 <= next_up <= here <= 1.0


@settings(max_examples=300, deadline=None)
@given(
    observed=st.integers(min_value=1, max_value=200),
    expected=st.floats(min_value=1e-6, max_value=150.0, allow_nan=False),
    factor=st.floats(min_value=1.0, max_value=3.0),
)
def test_poisson_upper_tail_rises_with_the_expectation(
    observed: int, expected: float, factor: float
) -> None:
    assert (
        poisson_upper_tail(observed, expected)
        <= poisson_upper_tail(observed, expected * factor) + 1e-12
    )


def test_a_wandering_rate_changes_nothing_where_few_reports_are_expected() -> None:
    """Where a handful of reporters could fire anything (five and more on a small audience)."""
    for observed in range(5, 12):
        assert wandering_rate_upper_tail(observed, 0.3, 0.15) == poisson_upper_tail(observed, 0.3)


def test_a_wandering_rate_keeps_a_large_audiences_ordinary_excess_probable() -> None:
    """400 weighted reporters where 300 are expected: wildly improbable for a constant rate,
    ordinary for a rate that wanders by 15 %; twice the expectation is improbable either way."""
    assert poisson_upper_tail(400, 300.0) < 1e-6
    assert wandering_rate_upper_tail(400, 300.0, 0.15) > 1e-3
    assert wandering_rate_upper_tail(600, 300.0, 0.15) < 1e-6


def test_without_variation_the_tail_is_poisson() -> None:
    assert wandering_rate_upper_tail(400, 300.0, 0.0) == poisson_upper_tail(400, 300.0)


# --- binomial: a category's share of a broadcast's own reporters ----------------------------


def exact_binomial_upper_tail(observed: int, trials: int, share: float) -> float:
    return math.fsum(
        math.comb(trials, k) * share**k * (1 - share) ** (trials - k)
        for k in range(observed, trials + 1)
    )


@settings(max_examples=300, deadline=None)
@given(
    trials=st.integers(min_value=1, max_value=400),
    share=st.floats(min_value=0.001, max_value=0.95),
    data=st.data(),
)
def test_binomial_upper_tail_above_the_mean_equals_exact_sum(
    trials: int, share: float, data: st.DataObject
) -> None:
    observed = data.draw(st.integers(min_value=math.floor(trials * share) + 1, max_value=trials))
    assert binomial_upper_tail(observed, trials, share) == pytest.approx(
        exact_binomial_upper_tail(observed, trials, share), rel=1e-9, abs=1e-200
    )


def test_binomial_upper_tail_at_or_below_the_mean_is_large_and_close_to_exact() -> None:
    for observed in (10, 15, 20):
        approximate = binomial_upper_tail(observed, 100, 0.2)
        assert approximate > 0.5
        assert approximate == pytest.approx(exact_binomial_upper_tail(observed, 100, 0.2), abs=0.05)


def test_binomial_upper_tail_edges() -> None:
    assert binomial_upper_tail(0, 10, 0.2) == 1.0
    assert binomial_upper_tail(11, 10, 0.2) == 0.0
    assert binomial_upper_tail(3, 10, 0.0) == 0.0
    assert binomial_upper_tail(3, 10, 1.0) == 1.0
    assert binomial_upper_tail(10, 10, 0.2) == pytest.approx(0.2**10)


def test_every_reporter_in_one_category_is_far_less_probable_than_poisson_says() -> None:
    """Fifteen of sixteen reporters in a category that takes a fifth of the reports: the
    Poisson tail of the same expectation allows counts above the total, and missed the
    trigger mark (1e-6) where the binomial is thousands of times below it."""
    assert wandering_rate_upper_tail(15, 16 * 0.2, 0.15) > 1e-6
    assert wandering_share_upper_tail(15, 16, 0.2, 0.15) < 1e-9


def test_a_wandering_share_keeps_a_large_broadcasts_ordinary_excess_probable() -> None:
    """A category with 230 of 1,000 reporters where a fifth are expected: improbable for a
    fixed share, ordinary for a share that wanders by 15 %."""
    assert binomial_upper_tail(230, 1000, 0.2) < 0.02
    assert wandering_share_upper_tail(230, 1000, 0.2, 0.15) > 0.1
    assert wandering_share_upper_tail(400, 1000, 0.2, 0.15) < 1e-6


def test_without_variation_the_share_tail_is_binomial() -> None:
    assert wandering_share_upper_tail(30, 100, 0.2, 0.0) == binomial_upper_tail(30, 100, 0.2)
