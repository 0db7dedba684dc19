"""How long CPython's garbage collector stops the worker, as a histogram.

A collection stops the whole event loop; a full (generation 2) one walks every
tracked object, so its pause grows with the window state the worker holds (about
0.7 s for 1.3 million tracked objects on the benchmark machine). No report is
decided during a pause, so the slowest pauses set a floor under the p99 of
``spikewatch_decision_latency_seconds``: the board shows both side by side, and
a latency tail that matches the pauses points at state size, not at Kafka.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram


class GcPauseTimer:
    """Observes each collection's duration, labelled by generation, via ``gc.callbacks``.

    The callback runs inside the collector, so it only reads the clock; the
    histogram observation happens once the collection has finished.
    """

    def __init__(self, pauses: Histogram) -> None:
        self._pauses = pauses
        self._started = 0.0

    def install(self) -> None:
        """Start timing; idempotent, since ``gc.callbacks`` is one list per process."""
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self._pauses.labels(str(info["generation"])).observe(time.perf_counter() - self._started)
