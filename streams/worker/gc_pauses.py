"""Garbage-collection pauses: timed as a metric, and kept short by freezing survivors.

A collection stops the whole event loop; no report is decided during a pause, so
the slowest pauses set a floor under the p99 of
``spikewatch_decision_latency_seconds``. A collection walks every tracked object
of the generations it collects, entry by entry for a dict.

What made the pauses long is the windows' reporter dicts. Their marks are tuples
of atoms, which the collector stops tracking, and a full collection then stops
tracking the dict too; but the next report into that window inserts a new
(tracked) mark, which tracks the dict again as a young object. So a busy
window's dict of thousands of marks went back through the young generations
and was walked whole by every full collection: the longest pauses once the
windows were full (``docs/benchmarks.md``, "What was made faster").

So what survives each collection of the middle generation, or a full one, is
moved to the permanent generation (``gc.freeze``, one list splice), where the
collector never looks: a dict tracked again is frozen on its first way through,
and stays tracked and out of sight after that. The young generation is left to
do its job (most objects die there).

What freezing costs: a frozen object that later becomes part of a garbage
reference cycle is never reclaimed (objects without cycles are still freed by
reference counting the moment they are dropped). The window state holds no
cycles; the soak runs watch the rest (``docs/benchmarks.md``, "Soak runs").
``SPIKEWATCH_GC_FREEZE_SURVIVORS=false`` turns freezing off should a library begin
leaking cycles; ``process_resident_memory_bytes`` and the soak run show it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge, Histogram

FREEZE_AFTER_GENERATION = 1
"""The youngest generation whose collections freeze their survivors."""

FROZEN_COUNT_MAX_AGE_SECONDS = 60.0
"""Counting the frozen objects walks them all (milliseconds per million), so a scrape
reads a count at most this old rather than stopping the event loop each time."""


class GcPauses:
    """Observes each collection's duration under its generation, via ``gc.callbacks``,
    and serves the frozen-object gauge.

    The callback runs inside the collector, so it does only O(1) work: read the
    clock, observe, and (after a collection of the middle generation or a full one)
    move the survivors to the permanent generation, which is one list splice.
    """

    def __init__(
        self,
        pauses: Histogram,
        frozen: Gauge,
        *,
        freeze_survivors: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pauses = pauses
        self._frozen = frozen
        self._freeze_survivors = freeze_survivors
        self._clock = clock
        self._started = 0.0
        self._frozen_count = 0
        self._counted_at: float | None = None

    def install(self) -> None:
        """Start; idempotent, since ``gc.callbacks`` is one list per process."""
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)
        self._frozen.set_function(self._frozen_objects)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self._pauses.labels(str(generation)).observe(time.perf_counter() - self._started)
        if generation >= FREEZE_AFTER_GENERATION and self._freeze_survivors:
            gc.freeze()

    def _frozen_objects(self) -> float:
        now = self._clock()
        if self._counted_at is None or now - self._counted_at >= FROZEN_COUNT_MAX_AGE_SECONDS:
            self._frozen_count = gc.get_freeze_count()
            self._counted_at = now
        return self._frozen_count
