"""Broadcast states: a decoded working set over the durable changelog-backed table.

The table (a Faust table live, a plain dict in replay) holds each broadcast's
:class:`~alerting.state.BroadcastState` as bytes and is the truth a restarted
worker restores from. Decoding those bytes for every report would cost more than
deciding, so decoded states are cached here and written back once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping

from alerting.state import BroadcastState


class BroadcastStates:
    """``partition_of`` maps a broadcast key to its input partition (the producer's hash)."""

    def __init__(
        self,
        table: MutableMapping[bytes, bytes],
        partition_of: Callable[[bytes], int] = lambda _key: 0,
    ) -> None:
        self._table = table
        self._partition_of = partition_of
        self._cache: dict[str, BroadcastState] = {}
        self._partitions: dict[str, int] = {}

    def get(self, broadcast_id: str) -> BroadcastState:
        state = self._cache.get(broadcast_id)
        if state is None:
            stored = self._table.get(broadcast_id.encode())
            state = BroadcastState.from_bytes(stored) if stored else BroadcastState(broadcast_id)
            self._cache[broadcast_id] = state
            self._partitions[broadcast_id] = self._partition_of(broadcast_id.encode())
        return state

    def save(self, states: Iterable[BroadcastState]) -> None:
        for state in states:
            self._table[state.broadcast_id.encode()] = state.to_bytes()

    def evict(self, broadcast_id: str) -> None:
        self._cache.pop(broadcast_id, None)
        self._partitions.pop(broadcast_id, None)
        key = broadcast_id.encode()
        if key in self._table:
            del self._table[key]

    def partition(self, broadcast_id: str) -> int:
        return self._partitions[broadcast_id]

    def __iter__(self) -> Iterator[BroadcastState]:
        return iter(list(self._cache.values()))

    def __len__(self) -> int:
        return len(self._cache)

    def reload(self, owned_partitions: set[int]) -> None:
        """Rebuild the working set after a rebalance from the partitions this worker owns.

        Entries of partitions given to another worker are dropped (the memory store
        keeps keys written before a revoke), so only the owner of a broadcast ever
        ticks and resolves its incidents.
        """
        self.retain(owned_partitions)
        for key in list(self._table.keys()):
            if self._partition_of(key) in owned_partitions:
                self.get(key.decode())

    def retain(self, owned_partitions: set[int]) -> None:
        """Forget cached states of partitions this worker no longer owns."""
        for broadcast_id, partition in list(self._partitions.items()):
            if partition not in owned_partitions:
                del self._partitions[broadcast_id]
                del self._cache[broadcast_id]
