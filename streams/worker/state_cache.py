"""Broadcast states: a decoded working set over the durable changelog-backed table.

The table (a Faust table live, a plain dict in replay) holds each broadcast's
:class:`~alerting.state.BroadcastState` as bytes (one record, or a head and a record
per bucket of a large window: :mod:`alerting.state_records`) and is the truth a
restarted worker restores from. Decoding those bytes for every report would cost
more than deciding, so decoded states are cached here and written back when the
batch loop writes (:mod:`streams.worker.batch`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field

import orjson

from alerting.baseline import BaseRateLearner
from alerting.encoding import stored_json
from alerting.state import BroadcastState
from alerting.state_records import SEPARATOR, is_head_key, restore_state, state_keys, state_records

LEARNER_KEY_PREFIX = SEPARATOR
"""Table keys of the per-partition base-rate learners start with a byte that is never UTF-8,
so never a broadcast id (nor a broadcast's bucket record, which starts with its id)."""


class BroadcastStates:
    """``partition_of`` maps a broadcast key to its input partition (the producer's hash).

    ``durable=False`` (replay) keeps the working set only: there is no restart
    to survive, and the cache is the truth while a broadcast is in it, so
    encoding every state after every message would only cost time.
    """

    def __init__(
        self,
        table: MutableMapping[bytes, bytes],
        partition_of: Callable[[bytes], int] = lambda _key: 0,
        *,
        durable: bool = True,
    ) -> None:
        self._table = table
        self._partition_of = partition_of
        self._durable = durable
        self._cache: dict[str, BroadcastState] = {}
        self._partitions: dict[str, int] = {}
        self._learners: dict[int, BaseRateLearner] = {}
        self._learner_keys: dict[int, bytes] = {}

    def get(self, broadcast_id: str) -> BroadcastState:
        state = self._cache.get(broadcast_id)
        if state is None:
            state = self._restore(broadcast_id) or BroadcastState(broadcast_id)
            self._cache[broadcast_id] = state
            self._partitions[broadcast_id] = self._partition_of(broadcast_id.encode())
        return state

    def save(self, states: Iterable[BroadcastState]) -> None:
        if not self._durable:
            return
        table = self._table
        for state in states:
            for key, value in state_records(state).items():
                if value is not None:
                    table[key] = value
                elif key in table:
                    del table[key]

    def _restore(self, broadcast_id: str) -> BroadcastState | None:
        head = self._table.get(broadcast_id.encode())
        return restore_state(head, self._table.get) if head else None

    def partition(self, broadcast_id: str) -> int:
        """The input partition of a broadcast already in the working set."""
        return self._partitions[broadcast_id]

    def learner(self, partition: int) -> BaseRateLearner:
        """The base-rate learner of one input partition, restored from the table if stored.

        It is stored under a key that hashes to ``partition`` itself, so its
        changelog partition is the input partition's and whichever worker owns
        the partition restores its learner with it.
        """
        learner = self._learners.get(partition)
        if learner is None:
            stored = self._table.get(self._learner_key(partition))
            learner = (
                BaseRateLearner.from_plain(orjson.loads(stored)) if stored else BaseRateLearner()
            )
            self._learners[partition] = learner
        return learner

    def cached_learners(self) -> list[tuple[int, BaseRateLearner]]:
        """The learners of the partitions this worker has read since it took them: what
        it has learned, never a learner restored only to be shown."""
        return sorted(self._learners.items())

    def save_learners(self, partitions: Iterable[int]) -> None:
        if not self._durable:
            return
        for partition in partitions:
            learner = self._learners.get(partition)
            if learner is not None:
                self._table[self._learner_key(partition)] = stored_json(learner.to_plain())

    def _learner_key(self, partition: int) -> bytes:
        key = self._learner_keys.get(partition)
        if key is None:
            candidates = (LEARNER_KEY_PREFIX + f"rates:{n}".encode() for n in itertools.count())
            key = next(k for k in candidates if self._partition_of(k) == partition)
            self._learner_keys[partition] = key
        return key

    def evict(self, broadcast_id: str) -> None:
        """Forget the broadcast and delete every record its state is stored in."""
        state = self._cache.pop(broadcast_id, None) or self._restore(broadcast_id)
        self._partitions.pop(broadcast_id, None)
        for key in state_keys(state) if state is not None else ():
            if key in self._table:
                del self._table[key]

    def __iter__(self) -> Iterator[BroadcastState]:
        return iter(list(self._cache.values()))

    def holds(self, state: BroadcastState) -> bool:
        """Whether ``state`` is the one cached for its broadcast (not dropped since it was read)."""
        return self._cache.get(state.broadcast_id) is state

    def __len__(self) -> int:
        return len(self._cache)

    def reload(self, owned_partitions: set[int]) -> None:
        """Rebuild the working set after a rebalance from the partitions this worker owns.

        Entries of partitions given to another worker are dropped (the memory store
        keeps keys written before a revoke), so only the owner of a broadcast ever
        ticks and resolves its incidents.
        """
        self.retain(owned_partitions)
        self._learners.clear()
        for key in list(self._table.keys()):
            if is_head_key(key) and self._partition_of(key) in owned_partitions:
                self.get(key.decode())

    def retain(self, owned_partitions: set[int]) -> None:
        """Forget cached states and learners of partitions this worker no longer owns: none
        of them is written after this (their new owner writes them)."""
        for broadcast_id, partition in list(self._partitions.items()):
            if partition not in owned_partitions:
                del self._partitions[broadcast_id]
                del self._cache[broadcast_id]
        for partition in [p for p in self._learners if p not in owned_partitions]:
            del self._learners[partition]


@dataclass(slots=True)
class Touched:
    """What a lane changed since its last write: each broadcast's state once, and the
    partitions whose learners moved. Both lanes (active and shadow) write through it,
    so a broadcast reported many times in a fetch is encoded and written once."""

    states: dict[str, BroadcastState] = field(default_factory=dict)
    learners: set[int] = field(default_factory=set)

    def update(self, other: Touched) -> None:
        self.states.update(other.states)
        self.learners |= other.learners

    def writing(self, states: BroadcastStates) -> Iterator[None]:
        """Write the states one per step, then the learners: the batch loop spreads a write
        over the fetches that follow it (:mod:`streams.worker.batch`). A step pauses after
        a state only when another follows, so the step that writes the last one ends the
        iteration, and the caller knows at once that the write is all queued.

        A state dropped from ``states`` before its step (idle, or its partition handed
        on) is skipped: a state is never written after its drop, which would bring
        back records the drop deleted or overwrite what the partition's new owner wrote.
        """
        wrote = False
        for state in self.states.values():
            if wrote:
                yield
                wrote = False
            if states.holds(state):
                states.save((state,))
                wrote = True
        states.save_learners(self.learners)
