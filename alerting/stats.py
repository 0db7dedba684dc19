"""Tail probabilities the detectors need, in plain Python (no SciPy in the hot path)."""

from __future__ import annotations

import math
from math import erfc, lgamma
from typing import Final

# Final, so that compiled these are constants rather than a module lookup per use; the
# square root of 2 is taken of a float, which the compiled core does natively.
_RELATIVE_PRECISION: Final = 1e-12
_MAX_TERMS: Final = 100_000
_SQRT_2: Final = math.sqrt(2.0)


def poisson_upper_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected).

    Only the far upper tail decides anything (p-values around 1e-6), so it is summed
    term by term from ``observed`` upward, where the terms shrink geometrically; at
    or below the mean the answer is large and a normal approximation is plenty.

    >>> round(poisson_upper_tail(3, 1.0), 4)
    0.0803
    """
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    if observed <= expected:
        z = (observed - 0.5 - expected) / math.sqrt(expected)
        return 0.5 * erfc(z / _SQRT_2)
    log_term = observed * math.log(expected) - expected - lgamma(observed + 1)
    term = math.exp(log_term)
    if term == 0.0:
        return 0.0
    total = term
    index = observed
    while term > total * _RELATIVE_PRECISION and index < observed + _MAX_TERMS:
        index += 1
        term *= expected / index
        total += term
    return min(1.0, total)


def binomial_upper_tail(observed: int, trials: int, share: float) -> float:
    """P(X >= observed) for X ~ Binomial(trials, share).

    Summed term by term from ``observed`` upward, like :func:`poisson_upper_tail`: only
    the far upper tail decides anything; at or below the mean a normal approximation is
    plenty.

    >>> round(binomial_upper_tail(3, 4, 0.5), 4)
    0.3125
    """
    if observed <= 0:
        return 1.0
    if observed > trials or share <= 0.0:
        return 0.0
    if share >= 1.0:
        return 1.0
    mean = trials * share
    if observed <= mean:
        z = (observed - 0.5 - mean) / math.sqrt(mean * (1.0 - share))
        return 0.5 * erfc(z / _SQRT_2)
    log_term = (
        lgamma(trials + 1)
        - lgamma(observed + 1)
        - lgamma(trials - observed + 1)
        + observed * math.log(share)
        + (trials - observed) * math.log1p(-share)
    )
    term = math.exp(log_term)
    if term == 0.0:
        return 0.0
    total = term
    odds = share / (1.0 - share)
    index = observed
    while term > total * _RELATIVE_PRECISION and index < trials:
        term *= (trials - index) / (index + 1) * odds
        index += 1
        total += term
    return min(1.0, total)


def wandering_share_upper_tail(observed: int, trials: int, share: float, variation: float) -> float:
    """P(X >= observed) for ``observed`` of ``trials`` reporters when ``share`` of them
    are expected and the share itself is uncertain by ``variation``.

    The test of a broadcast whose audience is unknown, judged by a category's share of
    its own reporters: given how many reporters the broadcast has, how many chose the
    category is binomial, not Poisson. The Poisson tail of the same expectation allows a
    count above the total, and when every reporter chose one category it was too lenient
    by orders of magnitude: fifteen viewers of such a broadcast, all reporting
    harassment (a fifth of the platform's reports), paged no one. As in
    :func:`wandering_rate_upper_tail`, the answer is the larger of the exact tail and a
    normal one whose variance adds the share's own spread.

    >>> wandering_share_upper_tail(3, 4, 0.5, 0.0) == binomial_upper_tail(3, 4, 0.5)
    True
    """
    mean = trials * share
    return _wandering(
        binomial_upper_tail(observed, trials, share),
        observed,
        mean,
        mean * (1.0 - min(share, 1.0)),
        variation,
    )


def wandering_rate_upper_tail(observed: int, expected: float, variation: float) -> float:
    """P(X >= observed) when the rate behind ``expected`` is itself uncertain.

    An ordinary broadcast's report rate is not a constant: it wanders with what is on
    screen, by some ``variation`` (a coefficient of variation) around even the best
    estimate of it. With a few expected reports that hardly matters and the Poisson
    tail decides; with hundreds it is what matters most, since a Poisson tail alone
    calls a level a third above its estimate improbable. So the answer is the larger
    of the Poisson tail and a normal tail whose variance adds the rate's own spread,
    ``expected + (variation x expected)^2``: an observation must be improbable under
    both readings of "ordinary".

    >>> wandering_rate_upper_tail(3, 1.0, 0.0) == poisson_upper_tail(3, 1.0)
    True
    """
    return _wandering(
        poisson_upper_tail(observed, expected), observed, expected, expected, variation
    )


def _wandering(
    exact: float, observed: int, mean: float, variance: float, variation: float
) -> float:
    """The larger of ``exact`` and a normal tail whose variance adds the mean's own spread,
    ``variance + (variation x mean)^2``."""
    spread = variation * mean
    if spread <= 0.0 or observed <= mean:
        return exact
    z = (observed - 0.5 - mean) / math.sqrt(variance + spread * spread)
    normal = 0.5 * erfc(z / _SQRT_2)
    return exact if exact > normal else normal
