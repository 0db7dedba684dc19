"""Garbage-collection pauses: timed as a metric, and kept short by freezing survivors.

A collection stops the whole event loop, and a full (generation 2) one walks every
tracked object, so its pause grows with the window state the worker holds. No
report is decided during a pause, so the slowest pauses set a floor under the p99
of ``spikewatch_decision_latency_seconds``.

Freezing the survivors of each full collection (``gc.freeze``) shortens the longest
pause several times over on the benchmark's latency load (figures: "What was made
faster" in ``docs/benchmarks.md``): later full collections walk only what was created
since.

What freezing costs: a frozen object that later becomes part of a reference
cycle is never reclaimed (objects without cycles are still freed by reference
counting the moment they are dropped). The window state holds no cycles: a run that
unfroze everything and collected at the end found nothing unreachable.
``SPIKEWATCH_GC_FREEZE_SURVIVORS=false`` turns freezing off should a library begin
leaking cycles; ``process_resident_memory_bytes`` and the soak run show it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge, Histogram

FULL_COLLECTION = 2

FROZEN_COUNT_MAX_AGE_SECONDS = 60.0
"""Counting the frozen objects walks them all (about 12 ms per million here), so a
scrape reads a count at most this old rather than stopping the event loop each time."""


class GcPauses:
    """Observes each collection's duration under its generation, via ``gc.callbacks``,
    and serves the frozen-object gauge.

    The callback runs inside the collector, so it does only O(1) work: read the
    clock, observe, and (after a full collection) move the survivors to the
    permanent generation, which is one list splice.
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
        if generation == FULL_COLLECTION and self._freeze_survivors:
            gc.freeze()

    def _frozen_objects(self) -> float:
        now = self._clock()
        if self._counted_at is None or now - self._counted_at >= FROZEN_COUNT_MAX_AGE_SECONDS:
            self._frozen_count = gc.get_freeze_count()
            self._counted_at = now
        return self._frozen_count
