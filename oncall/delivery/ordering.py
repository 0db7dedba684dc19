"""Per-incident order: never deliver an event older than one already delivered.

Kafka keeps an incident's events in order (they share a key, hence a
partition), but the same events can come again: after a rebalance, after a
crash before the offset commit, or when a worker re-emits. Re-sending the last
delivered event is harmless (every sink is keyed by ``dedup_key``); sending an
*older* one after a newer one is not (a trigger after its resolve would reopen
the page). So an event whose ``sequence`` is not above the last delivered for
its ``dedup_key`` is skipped.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_REMEMBERED_INCIDENTS = 100_000


class SequenceGuard:
    """Last delivered ``sequence`` per ``dedup_key``, the oldest forgotten past a bound."""

    def __init__(self, capacity: int = DEFAULT_REMEMBERED_INCIDENTS) -> None:
        self.capacity = capacity
        self._delivered: OrderedDict[str, int] = OrderedDict()

    def is_stale(self, dedup_key: str, sequence: int) -> bool:
        last = self._delivered.get(dedup_key)
        return last is not None and sequence <= last

    def delivered(self, dedup_key: str, sequence: int) -> None:
        self._delivered[dedup_key] = max(sequence, self._delivered.get(dedup_key, 0))
        self._delivered.move_to_end(dedup_key)
        while len(self._delivered) > self.capacity:
            self._delivered.popitem(last=False)
