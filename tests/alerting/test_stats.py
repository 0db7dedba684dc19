"""Tests for alerting/stats.py: the Poisson upper tail, checked against exact sums."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.stats import poisson_upper_tail, wandering_rate_upper_tail


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
