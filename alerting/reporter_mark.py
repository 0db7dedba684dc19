"""What a window remembers of one reporter, and what one report says about its reporter.

Apart from the window so that the one subtle thing about marks, how the compiled core
keeps them one object wherever they are indexed, is written down once, beside the type.
"""

from __future__ import annotations

from typing import Any

WEIGHT_UNIT = 1000
"""Weights are kept in thousandths of a reporter."""


class ReporterStanding:
    """What one report says about its reporter: a plain class with slots, which the compiled
    core builds per report as a native object (a named tuple's ``__new__`` runs as Python).
    """

    __slots__ = ("credible", "suspect", "unknown", "weight_milli")

    def __init__(
        self, credible: bool, weight_milli: int, suspect: bool, unknown: bool = False
    ) -> None:
        self.credible = credible
        self.weight_milli = weight_milli
        self.suspect = suspect
        self.unknown = unknown


ReporterMark = tuple[float, int, bool, int, bool, int, bool]
"""A reporter's newest report in the window: ``(last_seen, bucket, credible, weight_milli,
suspect, arrival, unknown)``; ``arrival`` numbers the reporters in the order they were last
added or moved to the end of the window's last-seen order. The numbers only have to
rise within a window: the engine draws them from one counter per broadcast, so that a
report makes the same mark in its category's window and the broadcast-wide one.

A plain tuple of atoms, replaced whole on every change, rather than a mutable object:
the collector untracks such a tuple after its first collection, so a full collection
does not walk the millions of marks that full windows hold (those walks were the
worker's pauses of up to 2 s), and orjson writes a ``dict[str, ReporterMark]`` as it
is, with no Python loop building the stored form.

A window indexes each mark twice (by reporter, and by bucket), and both indexes must
hold the one object, as must the broadcast-wide window where its mark equals the
category window's. Compiled, a fixed-length tuple lives unboxed, and mypyc boxes it
afresh (a new tuple, float and ints) each time it goes into a container: the code that
stores a mark goes through :func:`boxed_once`, which boxes it once. Stored by value,
every reporter's mark was two objects in each of its windows, and the window's memory
half as large again, which a worker with many full windows paid in time
(``docs/benchmarks.md``).
"""


def boxed_once(mark: ReporterMark, same: Any) -> Any:
    """``mark`` as one object for both of the window's indexes: ``same`` (a mark another
    window stored) where it is equal, else ``mark`` boxed (see ``ReporterMark``)."""
    if same is not None:
        other: ReporterMark = same
        if other == mark:
            return same
    boxed: Any = mark
    return boxed
