"""Plain aiokafka clients for the commands around the worker (produce, tail, demo).

``options`` are the security keyword arguments of
:func:`streams.kafka.security.client_options` (none for a plaintext broker).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from models.errors import SpikewatchError
from models.escalation_v2 import EscalationV2, parse_escalation

_PLACE_RETRY_SECONDS = 1.0
"""How long ``follow_escalations`` waits before placing its partitions again after the
broker did not answer."""


class KafkaUnreachableError(SpikewatchError):
    """No broker answered at the configured address."""

    remedy = (
        "start the broker (python3 deploy/kafka/local_broker.py start --data-dir .run/kafka)"
        " or fix the address"
    )


@asynccontextmanager
async def producer(bootstrap: str, **options: Any) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, **options
    )
    try:
        await client.start()
        yield client
    finally:
        await client.stop()


async def follow_escalations(
    bootstrap: str, topic_prefix: str, *, from_beginning: bool = False, **options: Any
) -> AsyncIterator[tuple[str, EscalationV2]]:
    """Yield ``(topic, escalation)`` from every topic named ``<topic_prefix>*``, v1 events
    (from workers not yet upgraded) read as v2.

    Subscribes by pattern, so on-call topics created after the start are found within a
    second, and read from their first record written since the start (their beginning
    with ``from_beginning``): a new team's first page is shown. Without a group, aiokafka
    re-assigns every partition when a topic appears and resets each to
    ``auto_offset_reset``, which skipped the new topic's first records ("latest") or
    showed the old topics' again ("earliest"), so each partition's next offset is kept
    here and every partition placed again after a change.
    """
    since_ms = None if from_beginning else int(time.time() * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        metadata_max_age_ms=1000,
        enable_auto_commit=False,
        **options,
    )
    consumer.subscribe(pattern=f"^{re.escape(topic_prefix)}.*")
    next_offsets: dict[TopicPartition, int] = {}
    try:
        await consumer.start()
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            assigned = consumer.assignment()
            if assigned != next_offsets.keys():
                try:
                    next_offsets = await _place(consumer, assigned, next_offsets, since_ms)
                except KafkaError:
                    # The broker is away (restarting, say): placed at the next turn. The
                    # new partitions' records are passed over until then, and read again
                    # from where they are placed.
                    await asyncio.sleep(_PLACE_RETRY_SECONDS)
            for tp, records in batches.items():
                start = next_offsets.get(tp)
                for record in records:
                    # A record before the partition's place (fetched before it was
                    # placed again) was shown already or is older than the start.
                    if start is None or record.offset < start:
                        continue
                    next_offsets[tp] = start = record.offset + 1
                    if record.value is not None:
                        yield record.topic, parse_escalation(record.value)
    finally:
        await consumer.stop()


async def _place(
    consumer: AIOKafkaConsumer,
    assigned: set[TopicPartition],
    next_offsets: dict[TopicPartition, int],
    since_ms: int | None,
) -> dict[TopicPartition, int]:
    """Seek every assigned partition: one already read to its next offset, a new one to its
    first record written at or after ``since_ms`` (:func:`offsets_since`; its beginning for
    ``None``)."""
    new = [tp for tp in assigned if tp not in next_offsets]
    starts: dict[TopicPartition, int] = {}
    if new:
        starts = (
            dict(await consumer.beginning_offsets(new))
            if since_ms is None
            else await offsets_since(consumer, new, since_ms)
        )
    offsets = {tp: next_offsets[tp] if tp in next_offsets else starts[tp] for tp in assigned}
    for tp, offset in offsets.items():
        consumer.seek(tp, offset)
    return offsets


async def offsets_since(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], since_ms: int
) -> dict[TopicPartition, int]:
    """Each partition's first offset written at or after ``since_ms``, or its end where
    there is none yet.

    The ends are asked *before* the search by time: where the search finds nothing, every
    record after those ends was written later and is read from them. Asked after it (or
    left to a lazy ``seek_to_end``), a record written in between was skipped.
    """
    ends = await consumer.end_offsets(partitions)
    found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    return {tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in partitions}
