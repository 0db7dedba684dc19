"""The fetch loop: its own cancellation told from a cancelled future met inside a batch,
and fetches that take nothing from paused partitions."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka.ingest import BatchingConsumer, BatchingTransport, stopping
from tests.support.kafka import send_all


def test_a_cancelled_future_awaited_inside_a_batch_is_not_a_shutdown() -> None:
    async def batch() -> bool:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.cancel()
        try:
            await sent
        except asyncio.CancelledError:
            return stopping()
        raise AssertionError("awaiting a cancelled future raises")

    assert asyncio.run(batch()) is False


def test_a_fetch_loop_cancelled_from_outside_is_stopping() -> None:
    seen: list[bool] = []

    async def fetch_loop() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append(stopping())
            raise

    async def main() -> None:
        task = asyncio.ensure_future(fetch_loop())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert seen == [True]


@pytest.mark.kafka
async def test_a_fetch_waiting_when_every_partition_is_paused_takes_nothing(bootstrap: str) -> None:
    """A rebalance pauses every partition while a fetch is still waiting for records.

    aiokafka reads an empty set of partitions as "all of them". The fetch must
    hand back nothing and leave the paused partition where it was: records it
    took would be dropped (Faust's flow is stopped during a rebalance) with the
    position already past them, and a changelog partition that table recovery
    had just positioned was then never read again (the failover stall).
    """
    topic = f"t{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    app = _app(topic, bootstrap)
    assigned = asyncio.Event()
    consumer = _batching_consumer(app, assigned)
    await consumer.start()
    try:
        await consumer.subscribe([topic])
        await asyncio.wait_for(assigned.wait(), 60)
        active = consumer._get_active_partitions()
        [tp] = consumer.assignment()

        waiting = asyncio.ensure_future(consumer._getmany(active, timeout=3.0))
        await asyncio.sleep(0)  # the fetch is handed to the consumer thread
        consumer.pause_partitions({tp})  # what a rebalance does to every partition
        await send_all(bootstrap, topic, [(b"key", b"%d" % n) for n in range(5)])

        assert await waiting == {}
        assert await consumer.position(tp) == 0
        consumer.resume_partitions({tp})
        fetched = await consumer._getmany(active, timeout=10.0)
        assert [record.offset for record in fetched[tp]] == [0, 1, 2, 3, 4]
    finally:
        await consumer.stop()


@pytest.mark.kafka
async def test_the_broker_holds_an_empty_fetch_only_as_long_as_the_app_says(
    bootstrap: str,
) -> None:
    """The fetcher that talks to the broker gets the app's wait, not Faust's fixed 1.5 s
    (a fetch of reports waits behind an empty fetch in flight: see BatchingConsumerThread)."""
    app = _app(f"t{uuid.uuid4().hex[:10]}", bootstrap)
    app.fetch_max_wait_seconds = 0.12  # type: ignore[attr-defined]  # as SpikewatchFaustApp has it
    consumer = _batching_consumer(app, asyncio.Event())
    await consumer.start()
    try:
        fetcher = consumer._thread._ensure_consumer()._fetcher
        assert fetcher._fetch_max_wait_ms == 120
    finally:
        await consumer.stop()


def _app(name: str, bootstrap: str) -> faust.App:
    return faust.App(
        f"{name}-app", broker=f"kafka://{bootstrap}", autodiscover=False, web_enabled=False
    )


def _batching_consumer(app: faust.App, assigned: asyncio.Event) -> BatchingConsumer:
    async def ignore(*_: Any) -> None:
        return None

    async def on_assigned(*_: Any) -> None:
        assigned.set()

    return cast(
        BatchingConsumer,
        BatchingTransport(app.conf.broker_consumer, app).create_consumer(
            callback=ignore, on_partitions_revoked=ignore, on_partitions_assigned=on_assigned
        ),
    )
