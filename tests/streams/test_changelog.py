"""States written straight to the changelog land where Faust restores them from."""

from __future__ import annotations

import asyncio
import uuid

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.changelog import ChangelogWriter
from streams.tables import bytes_table, key_partition
from tests.support.kafka import read_until

PARTITIONS = 4


def table_of(app_id: str) -> faust.Table[bytes, bytes]:
    app = faust.App(app_id, broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False)
    return bytes_table(app, "states", PARTITIONS)  # type: ignore[return-value]


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


def test_flush_before_start_says_what_to_do() -> None:
    writer = ChangelogWriter("127.0.0.1:1", {})
    with pytest.raises(RuntimeError, match="start the worker"):
        asyncio.run(writer.flush())


@pytest.mark.kafka
def test_flush_sends_each_key_to_its_partition_once_and_deletes_as_tombstones(
    bootstrap: str,
) -> None:
    table = table_of(f"t{uuid.uuid4().hex[:8]}")
    writer = ChangelogWriter(bootstrap, {})
    store = writer.store(table)
    large = b"x" * 300_000
    keys = [f"broadcast-{n}".encode() for n in range(40)]

    async def write() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(store.topic, PARTITIONS, 1)])
        finally:
            await admin.close()
        await writer.start()
        try:
            for key in keys:
                store[key] = b"old"
                store[key] = key + b"-new"
            store[keys[0]] = large
            store[keys[1]] = large
            del store[keys[2]]
            await (await writer.flush())
        finally:
            await writer.stop()

    asyncio.run(write())
    records = asyncio.run(
        read_until(bootstrap, [store.topic], done=lambda rs: len(rs) >= len(keys), within=20)
    )

    assert len(records) == len(keys)
    for record in records:
        assert record.key is not None
        assert record.partition == key_partition(record.key, PARTITIONS)
    values = {record.key: record.value for record in records}
    assert values[keys[0]] == large
    assert values[keys[1]] == large
    assert values[keys[2]] is None
    assert values[keys[3]] == keys[3] + b"-new"
