"""The console's incidents: in memory for the pages, every change on a compacted topic.

Why a compacted Kafka topic and not local disk: the console may be rescheduled
onto any machine (a pod without a volume), and Kafka is already what it
depends on. The topic keeps the newest record per ``dedup_key`` (a tombstone
forgets one), so a restart reads it from the beginning to its end and shows the
same incidents before it reads anything new.

Ordering with the source offsets: :meth:`IncidentStore.flush` waits for every
record written since the last flush to be acknowledged by the broker, and the
feed commits its source offsets only after that, so a crash can only make the
console read events again (the folds are idempotent), never skip one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import ValidationError
from structlog import get_logger

from oncall.console.incidents import IncidentRecord
from streams.settings import Settings

log = get_logger("spikewatch.console.store")

STORE_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


class IncidentStore:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.records: dict[str, IncidentRecord] = {}
        self._unacknowledged: list[asyncio.Future[Any]] = []

    def __iter__(self) -> Iterator[IncidentRecord]:
        return iter(list(self.records.values()))

    def get(self, dedup_key: str) -> IncidentRecord | None:
        return self.records.get(dedup_key)

    async def put(self, record: IncidentRecord) -> None:
        self.records[record.dedup_key] = record
        self._unacknowledged.append(
            await self.producer.send(self.topic, record.to_bytes(), key=record.dedup_key.encode())
        )

    async def forget(self, dedup_key: str) -> None:
        if self.records.pop(dedup_key, None) is not None:
            self._unacknowledged.append(
                await self.producer.send(self.topic, None, key=dedup_key.encode())
            )

    async def flush(self) -> None:
        pending, self._unacknowledged = self._unacknowledged, []
        if pending:
            await asyncio.gather(*pending)


async def ensure_console_topics(settings: Settings, options: dict[str, Any]) -> int:
    """Create the store (compacted), the verdict topic and its dead letters when missing.

    Returns the store topic's partition count (one when the console created it).

    The verdict topic gets the acknowledgement topic's partition count, so both
    place an incident's messages on the same partition number.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **options)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = {
            settings.resolved_console_store_topic: (1, STORE_CONFIG),
            settings.verdict_topic: (settings.topic_partitions, {}),
            settings.resolved_verdict_dead_letter_topic: (settings.topic_partitions, {}),
        }
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=config,
            )
            for name, (partitions, config) in wanted.items()
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
        (described,) = await admin.describe_topics([settings.resolved_console_store_topic])
        return len(described["partitions"]) or 1
    finally:
        await admin.close()


async def restore_records(
    bootstrap: str, topic: str, partition_count: int, options: dict[str, Any]
) -> dict[str, IncidentRecord]:
    """Read the store topic from its beginning to the end it had when this started."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **options
    )
    records: dict[str, IncidentRecord] = {}
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, number) for number in range(partition_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    _restore_one(records, message.key, message.value)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    log.info("console_store_restored", topic=topic, incidents=len(records))
    return records


def _restore_one(
    records: dict[str, IncidentRecord], key: bytes | None, value: bytes | None
) -> None:
    if key is None:
        return
    dedup_key = key.decode(errors="replace")
    if value is None:
        records.pop(dedup_key, None)
        return
    try:
        records[dedup_key] = IncidentRecord.from_bytes(value)
    except ValidationError as error:
        # A record this version cannot read is left out, not fatal: the sources
        # still hold the incident's events until their retention.
        log.warning("console_record_unreadable", dedup_key=dedup_key, error=str(error)[:200])
