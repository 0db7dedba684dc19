"""A window's stored reporters, whichever format stored them, as the newest format reads them.

Only a restore needs this (a worker starting, a rebalance), never a report: it lives
apart from the window so the window is what the hot path runs, and the older
formats can go together once no changelog holds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Marks = list[tuple[str, list[Any]]]


def stored_marks(plain: dict[str, Any], unit_weight_milli: int) -> tuple[Marks, int]:
    """``(reporters in arrival order, the next arrival number)`` of a stored window.

    Formats 2 and later keep ``key -> [last_seen, bucket, credible, weight_milli, suspect,
    arrival, ...]`` and the next arrival number; format 1 kept a list in arrival order,
    whose oldest form had no weight and suspicion (an ordinary reporter:
    ``unit_weight_milli``, not suspect).
    """
    stored = plain["r"]
    if isinstance(stored, dict):
        return sorted(stored.items(), key=_arrival_of), int(plain["a"])
    marks = list(_format_1_marks(stored, unit_weight_milli))
    return marks, len(marks)


def _arrival_of(stored: tuple[str, list[Any]]) -> int:
    return int(stored[1][5])


def _format_1_marks(
    stored: list[list[Any]], unit_weight_milli: int
) -> Iterator[tuple[str, list[Any]]]:
    for arrival, (key, last_seen, bucket, credible, *standing) in enumerate(stored):
        weight_milli, suspect = standing or (unit_weight_milli, False)
        yield key, [last_seen, bucket, credible, weight_milli, suspect, arrival]
