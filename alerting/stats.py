"""Tail probabilities the detectors need, in plain Python (no SciPy in the hot path)."""

from __future__ import annotations

import math
from math import erfc, lgamma

_RELATIVE_PRECISION = 1e-12
_MAX_TERMS = 100_000


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
        return 0.5 * erfc(z / math.sqrt(2))
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
