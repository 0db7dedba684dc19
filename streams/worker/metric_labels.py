"""Label values and exemplars of the worker's metrics, kept bounded.

Label values come only from fixed sets with an ``other`` fallback, so no broadcast or
reporter id can ever become a label; broadcast ids travel as exemplars instead.
"""

from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"

EXEMPLAR_LABEL_BUDGET = 128
"""OpenMetrics caps an exemplar's label names and values at 128 characters in total."""


def bounded(value: str | None, allowed: Iterable[str]) -> str:
    """The value if it belongs to the fixed set, else ``other``: labels stay bounded."""
    return value if value is not None and value in allowed else OTHER


def broadcast_exemplar(broadcast_id: str) -> dict[str, str]:
    """The broadcast id as an exemplar label, cut to fit the OpenMetrics budget."""
    name = "broadcast_id"
    return {name: broadcast_id[: EXEMPLAR_LABEL_BUDGET - len(name)]}
