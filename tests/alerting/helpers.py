"""Shared helpers for the decision-core tests (fixtures live in conftest.py)."""

from __future__ import annotations

import math
from typing import Any

from alerting.policy import Policy


def exact_tail(observed: int, mean: float) -> float:
    """P(X >= observed) for Poisson(mean), summed exactly: the reference for the detector."""
    return 1.0 - math.fsum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(observed))


def with_changes(policy: Policy, **sections: dict[str, Any]) -> Policy:
    """A copy of ``policy`` with some keys of some sections replaced, validated again."""
    document = policy.model_dump(mode="json")
    for name, changes in sections.items():
        document[name] = {**document[name], **changes}
    return Policy.model_validate(document)
