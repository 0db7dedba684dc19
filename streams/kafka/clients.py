"""Plain aiokafka clients for the commands around the worker (produce, tail, demo).

``options`` are the security keyword arguments of
:func:`streams.kafka.security.client_options` (none for a plaintext broker).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from models.errors import SpikewatchError
from models.escalation_v2 import EscalationV2, parse_escalation


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

    Subscribes by pattern, so on-call topics created after the start are picked
    up at the next metadata refresh (within a second).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        metadata_max_age_ms=1000,
        enable_auto_commit=False,
        **options,
    )
    consumer.subscribe(pattern=f"^{re.escape(topic_prefix)}.*")
    try:
        await consumer.start()
        async for record in consumer:
            if record.value is None:
                continue
            yield record.topic, parse_escalation(record.value)
    finally:
        await consumer.stop()
