"""Small aiokafka helpers for tests: send messages, read topics until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import OffsetAndTimestamp


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


async def send_all(
    bootstrap: str, topic: str, messages: Sequence[tuple[bytes | None, bytes]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


Header = tuple[str, bytes | None]


async def send_each(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[bytes | None, bytes | None, list[Header]]],
    max_request_size: int = 2 * 1_048_588,
) -> None:
    """Each record alone and awaited, with its headers: sizes up to twice Kafka's default
    limit leave the client, so the broker's own limit is what a test meets."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=max_request_size
    )
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_until(
    bootstrap: str,
    topics: Sequence[str] | None,
    *,
    pattern: str | None = None,
    done: Callable[[list[Record]], bool],
    within: float,
    settle: float = 0.0,
) -> list[Record]:
    """Read from the beginning until ``done(records)`` holds or ``within`` seconds pass.

    ``settle`` keeps reading that much longer after ``done`` holds, so a test can
    also prove that nothing *more* arrived (no duplicate trigger).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    if pattern is not None:
        consumer.subscribe(pattern=pattern)
    else:
        consumer.subscribe(list(topics or []))
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + within
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                records.extend(
                    Record(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp)
                    for m in messages
                )
            if settled_at is None and done(records):
                settled_at = time.monotonic()
            if settled_at is not None and time.monotonic() - settled_at >= settle:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


Search = Callable[
    [AIOKafkaConsumer, dict[TopicPartition, int]],
    Awaitable[dict[TopicPartition, OffsetAndTimestamp | None]],
]
"""``AIOKafkaConsumer.offsets_for_times``, to be replaced with ``monkeypatch.setattr``."""

BROKERS_SEARCH: Search = AIOKafkaConsumer.offsets_for_times


def search_timing_out_once(refused: list[int]) -> Search:
    """The broker's search by time, except that the first call times out (a broker away
    for a moment); ``refused`` gets the number of partitions that call asked for, so that
    a test can tell it did happen."""

    async def search(
        consumer: AIOKafkaConsumer, timestamps: dict[TopicPartition, int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        if not refused:
            refused.append(len(timestamps))
            raise KafkaTimeoutError
        return dict(await BROKERS_SEARCH(consumer, timestamps))

    return search
