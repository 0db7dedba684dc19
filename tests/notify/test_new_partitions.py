"""Where a sink's group starts on an on-call partition it has never committed.

The search by time and the end offsets are two broker round trips; an escalation
written between them must still be delivered. The test holds the window open by
writing a record the moment the search returns, on the real broker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndTimestamp

from oncall.delivery.requests import RequestBuilder
from streams.bench.load import create_topic
from streams.notify.sink_worker import RebalanceListener
from tests.support.kafka import BROKERS_SEARCH, Search, search_timing_out_once, send_all
from tests.support.notify import (
    create_topics,
    incident,
    metric_now,
    notify_settings,
    running_notify,
    send_escalations,
    wait_for_delivery,
    write_pagerduty_sink,
    write_sinks,
)
from tests.support.pagerduty import pagerduty_stand_in

pytestmark = pytest.mark.kafka
DELIVERIES = "spikewatch_notify_deliveries_total"


async def test_an_escalation_written_while_a_new_partition_is_placed_is_read(
    bootstrap: str, tmp_path: Path
) -> None:
    topic = f"oncall-{uuid.uuid4().hex[:8]}.t"
    await create_topic(bootstrap, topic, 1)
    config = write_sinks(
        tmp_path,
        {"version": 1, "sinks": [{"name": "am", "type": "alertmanager", "url": "http://x"}]},
        {},
    )
    builder = RequestBuilder(config.sinks[0], config)
    start_ms = int(time.time() * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"spikewatch-notify-test-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        search = consumer.offsets_for_times

        async def search_then_a_record_lands(
            timestamps: dict[TopicPartition, int],
        ) -> dict[TopicPartition, object]:
            found = await search(timestamps)
            await send_all(bootstrap, topic, [(b"key", b"written in the window")])
            return dict(found)

        consumer.offsets_for_times = search_then_a_record_lands
        await RebalanceListener(consumer, start_ms, builder).on_partitions_assigned([partition])
        batches = await consumer.getmany(partition, timeout_ms=10_000)
    finally:
        await consumer.stop()
    assert [record.value for record in batches.get(partition, [])] == [b"written in the window"]


async def paged_by_a_new_group_over_history(
    bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, search: Search
) -> tuple[set[str], str]:
    """What a new sink group pages of an on-call topic holding forty escalations written
    long before its lookback and one written after its start, its partitions placed with
    ``search`` in place of the broker's search by time; and the new one's key."""
    settings = notify_settings(bootstrap)
    topic = settings.oncall_topic("t")
    await create_topics(bootstrap, [topic])
    written_ms = int((time.time() - settings.notify_new_group_lookback_seconds - 600) * 1000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for number in range(40):
            [old] = incident(f"old-{number}", updates=0, resolve=False)
            await producer.send_and_wait(
                topic, old.to_json_bytes(), key=old.dedup_key.encode(), timestamp_ms=written_ms
            )
    finally:
        await producer.stop()
    monkeypatch.setattr(AIOKafkaConsumer, "offsets_for_times", search)
    with pagerduty_stand_in() as stand_in:
        config = write_pagerduty_sink(tmp_path, stand_in.url)
        async with running_notify(settings, config):
            new = incident("new", updates=0, resolve=False)
            await send_escalations(settings, new)
            await wait_for_delivery(
                settings,
                lambda: metric_now(settings, DELIVERIES, outcome="delivered") >= 1,
                30,
                "the new incident's delivery",
            )
            await asyncio.sleep(1.0)  # anything of the history would be on its way by now
        return {event["dedup_key"] for event in stand_in.accepted_events()}, new[0].dedup_key


async def test_a_new_group_pages_no_history_however_slowly_the_broker_answers(
    bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow answer leaves the fetcher, which resets a partition without a commit to its
    earliest record, time to fetch the topic's history: it must never be delivered (it
    would page incidents long resolved)."""

    async def slow(
        consumer: AIOKafkaConsumer, timestamps: dict[TopicPartition, int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        await asyncio.sleep(2.0)
        return dict(await BROKERS_SEARCH(consumer, timestamps))

    paged, new = await paged_by_a_new_group_over_history(bootstrap, tmp_path, monkeypatch, slow)
    assert paged == {new}


async def test_a_new_group_pages_no_history_when_the_broker_does_not_answer_at_first(
    bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka logs a rebalance listener's exception and goes on with the reset to the
    earliest record: the listener has to wait the broker out itself."""
    refused: list[int] = []
    paged, new = await paged_by_a_new_group_over_history(
        bootstrap, tmp_path, monkeypatch, search_timing_out_once(refused)
    )
    assert refused, "the search never timed out: the test did not test the retry"
    assert paged == {new}
