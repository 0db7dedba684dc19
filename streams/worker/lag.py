"""How far behind each owned input partition is, and the clock each one resolves by.

Two views of "behind", for two purposes: the resolve timer needs a cheap answer
every tick (the fetcher's cached end offsets tell "behind" from "caught up"),
while the lag metric must come from the broker, because a stalled fetcher
freezes its cached end offsets and would hide the very traffic the
ingest-stalled alert looks for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from streams.logs import get_logger
from streams.worker.clocks import partition_clock
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import ReportPipeline

log = get_logger("spikewatch.lag")

LAG_INTERVAL_SECONDS = 5.0
"""How often end offsets are asked of the broker: well inside any scrape interval."""

END_OFFSETS_TIMEOUT_SECONDS = 5.0


class LagProbe:
    """``owned`` lists the input partitions this worker owns now (Faust ``TP`` tuples)."""

    def __init__(
        self,
        consumer: Callable[[], Any],
        owned: Callable[[], list[Any]],
        pipeline: ReportPipeline,
        metrics: WorkerMetrics,
    ) -> None:
        self._consumer = consumer
        self._owned = owned
        self.pipeline = pipeline
        self.metrics = metrics
        self._measured: set[int] = set()
        self.recovered_at = time.monotonic()
        self.waiting = 0
        """Input messages waiting on the owned partitions at the last measurement."""

    def partition_clocks(self, now: float) -> dict[int, float]:
        """Each owned partition's clock (see :mod:`streams.worker.clocks`)."""
        consumer = self._consumer()
        clocks: dict[int, float] = {}
        since_recovery = time.monotonic() - self.recovered_at
        for tp in self._owned():
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            highwater = consumer.highwater(tp)
            lag = None
            if next_offset is not None and highwater is not None:
                lag = max(0, highwater - next_offset)
            elif next_offset is not None:
                lag = 0
            clocks[tp.partition] = partition_clock(
                now, self.pipeline.stream_times.get(tp.partition), lag, since_recovery
            )
        return clocks

    async def measure(self) -> None:
        """Lag against end offsets asked of the broker, not the fetcher's last answer.

        The broker round trip goes through the consumer's thread and can take a
        second, so it has its own timer rather than delaying the resolve timer.
        """
        owned = self._owned()
        for gone in self._measured - {tp.partition for tp in owned}:
            self.metrics.forget_partition(gone)
        self._measured = {tp.partition for tp in owned}
        if not owned:
            self.waiting = 0
            return
        consumer = self._consumer()
        try:
            end_offsets = await asyncio.wait_for(
                consumer.highwaters(*owned), END_OFFSETS_TIMEOUT_SECONDS
            )
        except Exception as error:  # a slow broker must not stop the resolve timer
            log.warning("end_offsets_unavailable", error=type(error).__name__)
            return
        waiting = 0
        for tp, end_offset in end_offsets.items():
            partition = str(tp.partition)
            self.metrics.input_end_offset.labels(partition).set(end_offset)
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            if next_offset is None:
                next_offset = _committed_offset(consumer, tp)
            lag = max(0, end_offset - next_offset)
            self.metrics.consumer_lag.labels(partition).set(lag)
            waiting += lag
        self.waiting = waiting


def _committed_offset(consumer: Any, tp: Any) -> int:
    """Where reading resumes on a partition not yet read in this process.

    Faust keeps the committed offsets only in a private mapping; before the
    first commit of a new group the position is the start of the log (0 for a
    topic whose retention has not yet deleted anything).
    """
    committed: dict[Any, int | None] = getattr(consumer, "_committed_offset", {})
    return committed.get(tp) or 0
