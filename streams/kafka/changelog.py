"""State tables written once per batch, straight to their changelog, one produce batch a partition.

Why not let Faust do it: a Faust table write sends one changelog message through
Faust's producer buffer (a future, a buffer hand-off, an ``asyncio`` round per
message); with thousands of broadcast states per batch that cost more than
deciding the reports did ("What was made faster" in ``docs/benchmarks.md``). Here
a batch's writes go into the table's local store at once (the working copy Faust
restores into) and are queued; :meth:`ChangelogWriter.flush` then appends them to one
aiokafka record batch per changelog partition, which the producer sends as a unit.

The records are exactly what Faust writes and reads back on recovery: raw key,
raw value (``None`` deletes), on the partition :func:`~streams.kafka.tables.record_partition`
gives the key. Only the write path changes; restore, rebalancing and standby
handling stay Faust's.

Durability is the caller's to await: the input messages of a batch are
acknowledged only once :meth:`ChangelogWriter.flush`'s future is done, so an
offset is never committed ahead of the states that counted it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, MutableMapping
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from faust.types import TableT

from streams.kafka.tables import record_partition

MAX_BATCH_BYTES = 512 * 1024
"""Per produce batch; a single state larger than this still goes out, in a batch of its own."""


class ChangelogStore(MutableMapping[bytes, bytes]):
    """One table as the batch loop sees it: reads and writes hit the local store, writes are queued.

    The queue keeps only the newest value of a key, so a state written twice
    before a flush costs one changelog record, and keeps it where it was last written:
    a state's head is sent after the bucket records written before it
    (:mod:`alerting.state_records`).
    """

    def __init__(self, table: TableT[bytes, bytes]) -> None:
        self._table = table
        self.topic = table.changelog_topic.get_topic_name()
        self.partitions = cast(int, table.partitions)
        self._queued: dict[bytes, bytes | None] = {}

    @property
    def _local(self) -> MutableMapping[bytes, bytes]:
        return self._table.data

    def __getitem__(self, key: bytes) -> bytes:
        return self._local[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._local[key] = value
        self._queue(key, value)

    def __delitem__(self, key: bytes) -> None:
        del self._local[key]
        self._queue(key, None)

    def _queue(self, key: bytes, value: bytes | None) -> None:
        self._queued.pop(key, None)
        self._queued[key] = value

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._local)

    def __len__(self) -> int:
        return len(self._local)

    def take_queued(self) -> dict[bytes, bytes | None]:
        queued, self._queued = self._queued, {}
        return queued


class ChangelogWriter:
    """Owns the producer of the state changelogs and the stores that queue for it.

    ``options`` are the aiokafka client options (security) of
    :func:`streams.kafka.security.client_options`. The producer is idempotent with
    ``acks=all``: a retried batch neither duplicates nor reorders a key's states.
    """

    def __init__(self, bootstrap: str, options: dict[str, Any]) -> None:
        self._bootstrap = bootstrap
        self._options = options
        self._producer: AIOKafkaProducer | None = None
        self._stores: list[ChangelogStore] = []
        self._last_hand_over: asyncio.Future[bool] | None = None

    def store(self, table: TableT[bytes, bytes]) -> ChangelogStore:
        store = ChangelogStore(table)
        self._stores.append(store)
        return store

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            max_batch_size=MAX_BATCH_BYTES,
            max_request_size=2 * MAX_BATCH_BYTES,
            **self._options,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # a client that failed to start still holds its connections
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Stop once the last flush is handed over: the producer sends what it holds as it
        stops, but a flush still waiting for its turn would find it gone."""
        if self._last_hand_over is not None:
            await asyncio.shield(self._last_hand_over)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def flush(self) -> asyncio.Future[None]:
        """Take every queued record now and hand them to the producer behind the previous
        flush's; the future is done once Kafka has them all.

        The hand-over runs in the background: aiokafka's idempotent producer takes a
        partition's next record batch only once the one before it is acknowledged,
        and waiting for that inside the batch loop kept the worker from deciding the
        next fetch for a measurable share of its time. Each flush hands over only after
        the previous one has, so a key's states reach its partition in the order
        they were queued.
        """
        producer = self._producer
        if producer is None:
            raise RuntimeError("the changelog writer is not started; start the worker first")
        queued = [(store, store.take_queued()) for store in self._stores]
        handed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        written = asyncio.ensure_future(
            _write(producer, queued, after=self._last_hand_over, handed=handed)
        )
        self._last_hand_over = handed
        return written


async def _write(
    producer: AIOKafkaProducer,
    queued: list[tuple[ChangelogStore, dict[bytes, bytes | None]]],
    *,
    after: asyncio.Future[bool] | None,
    handed: asyncio.Future[bool],
) -> None:
    """Hand ``queued`` to the producer once ``after`` is handed over, then wait for Kafka.

    ``handed`` says whether the hand-over succeeded. One that failed fails every
    later one: their records would otherwise reach Kafka ahead of those that
    never did.
    """
    sent: list[asyncio.Future[Any]] = []
    succeeded = False
    try:
        if after is not None and not await asyncio.shield(after):
            raise RuntimeError("an earlier changelog write failed; restart the worker")
        for store, records in queued:
            by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
            for key, value in records.items():
                by_partition.setdefault(record_partition(key, store.partitions), []).append(
                    (key, value)
                )
            for partition, partition_records in by_partition.items():
                sent.extend(
                    await _send_records(producer, store.topic, partition, partition_records)
                )
        succeeded = True
    finally:
        handed.set_result(succeeded)
    if sent:
        await asyncio.gather(*sent)


async def _send_records(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: list[tuple[bytes, bytes | None]],
) -> list[asyncio.Future[Any]]:
    """Records as few record batches as fit ``MAX_BATCH_BYTES``; one future per batch."""
    sent: list[asyncio.Future[Any]] = []
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            sent.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    if batch.record_count():
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    return sent
