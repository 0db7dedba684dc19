"""States written straight to the changelog land where Faust restores them from."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import MutableMapping
from typing import cast

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alerting.state_records import bucket_key, owner_key
from streams.kafka.changelog import ChangelogWriter
from streams.kafka.tables import bytes_table, key_partition
from tests.support.kafka import read_until

PARTITIONS = 4


def table_of(app_id: str) -> faust.Table[bytes, bytes]:
    app = faust.App(app_id, broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False)
    return bytes_table(app, "states", PARTITIONS)  # type: ignore[return-value]


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


def test_store_reads_and_writes_the_local_table_and_queues_the_newest_value() -> None:
    table = table_of(f"t{uuid.uuid4().hex[:8]}")
    store = ChangelogWriter("127.0.0.1:1", {}).store(table)
    store[b"a"] = b"1"
    store[b"a"] = b"2"
    store[b"b"] = b"x"
    del store[b"b"]

    assert store[b"a"] == b"2"
    assert dict(table.data) == {b"a": b"2"}
    assert b"b" not in store
    assert store.take_queued() == {b"a": b"2", b"b": None}
    assert store.take_queued() == {}


def test_a_key_written_again_is_queued_after_the_keys_written_since() -> None:
    store = ChangelogWriter("127.0.0.1:1", {}).store(table_of(f"t{uuid.uuid4().hex[:8]}"))
    store[b"head"] = b"1"
    store[b"head\xffharassment\xff7"] = b"{}"
    store[b"head"] = b"2"
    assert list(store.take_queued()) == [b"head\xffharassment\xff7", b"head"], (
        "a state's head goes out after the bucket records written before it"
    )


def test_flush_before_start_says_what_to_do() -> None:
    writer = ChangelogWriter("127.0.0.1:1", {})
    with pytest.raises(RuntimeError, match="start the worker"):
        writer.flush()


@pytest.mark.kafka
def test_flush_sends_each_key_to_its_partition_once_and_deletes_as_tombstones(
    bootstrap: str,
) -> None:
    table = table_of(f"t{uuid.uuid4().hex[:8]}")
    writer = ChangelogWriter(bootstrap, {})
    store = writer.store(table)
    large = b"x" * 300_000
    keys = [f"broadcast-{n}".encode() for n in range(40)]
    bucket = bucket_key(keys[4], "harassment", 177812)

    async def write() -> None:
        await create_topic(bootstrap, store.topic)
        await writer.start()
        try:
            for key in keys:
                store[key] = b"old"
                store[key] = key + b"-new"
            store[keys[0]] = large
            store[keys[1]] = large
            del store[keys[2]]
            store[bucket] = b"{}"
            await writer.flush()
        finally:
            await writer.stop()

    asyncio.run(write())
    records = asyncio.run(
        read_until(bootstrap, [store.topic], done=lambda rs: len(rs) > len(keys), within=20)
    )

    assert len(records) == len(keys) + 1
    for record in records:
        assert record.key is not None
        assert record.partition == key_partition(owner_key(record.key), PARTITIONS)
    assert [r.partition for r in records if r.key == bucket] == [
        key_partition(keys[4], PARTITIONS)
    ], "a bucket record goes to its broadcast's partition"
    values = {record.key: record.value for record in records}
    assert values[keys[0]] == large
    assert values[keys[1]] == large
    assert values[keys[2]] is None
    assert values[keys[3]] == keys[3] + b"-new"


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, *, key: bytes, value: bytes | None, timestamp: None) -> object:
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)


class _Producer:
    """Hands batches over slowly the first time, the way aiokafka's producer waits for
    a partition's previous batch; can refuse every hand-over."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.received: list[tuple[bytes, bytes | None]] = []
        self.refuse = refuse
        self.calls = 0

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(
        self, batch: _Batch, topic: str, *, partition: int
    ) -> asyncio.Future[None]:
        if self.refuse:
            raise ConnectionError("broker gone")
        self.calls += 1
        await asyncio.sleep(0.05 if self.calls == 1 else 0)
        self.received.extend(batch.records)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _writer_with(producer: _Producer) -> tuple[ChangelogWriter, MutableMapping[bytes, bytes]]:
    writer = ChangelogWriter("127.0.0.1:1", {})
    writer._producer = producer
    return writer, writer.store(table_of(f"t{uuid.uuid4().hex[:8]}"))


def test_flushes_reach_the_producer_in_the_order_they_were_taken() -> None:
    producer = _Producer()
    writer, store = _writer_with(producer)

    async def two_flushes() -> None:
        store[b"broadcast"] = b"first"
        first = writer.flush()
        store[b"broadcast"] = b"second"
        await asyncio.gather(writer.flush(), first)

    asyncio.run(two_flushes())
    assert producer.received == [(b"broadcast", b"first"), (b"broadcast", b"second")]


@pytest.mark.kafka
def test_stopping_writes_what_was_flushed_but_not_yet_handed_over(bootstrap: str) -> None:
    table = table_of(f"t{uuid.uuid4().hex[:8]}")
    writer = ChangelogWriter(bootstrap, {})
    store = writer.store(table)
    keys = [f"broadcast-{n}".encode() for n in range(200)]

    async def flush_and_stop() -> None:
        await create_topic(bootstrap, store.topic)
        await writer.start()
        for key in keys:
            store[key] = key
            writer.flush()
        await writer.stop()

    asyncio.run(flush_and_stop())
    records = asyncio.run(
        read_until(bootstrap, [store.topic], done=lambda rs: len(rs) >= len(keys), within=20)
    )
    assert sorted(record.key or b"" for record in records) == sorted(keys)


def test_a_flush_after_a_failed_one_fails_too() -> None:
    writer, store = _writer_with(_Producer(refuse=True))

    async def two_flushes() -> tuple[BaseException | None, BaseException | None]:
        store[b"broadcast"] = b"first"
        first = writer.flush()
        store[b"other"] = b"second"
        second = writer.flush()
        results = await asyncio.gather(first, second, return_exceptions=True)
        return cast(tuple[BaseException | None, BaseException | None], tuple(results))

    first, second = asyncio.run(two_flushes())
    assert isinstance(first, ConnectionError)
    assert isinstance(second, RuntimeError)
    assert "restart the worker" in str(second)
