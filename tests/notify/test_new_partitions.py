"""Where a sink's group starts on an on-call partition it has never committed.

The search by time and the end offsets are two broker round trips; an escalation
written between them must still be delivered. The test holds the window open by
writing a record the moment the search returns, on the real broker.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from oncall.delivery.requests import RequestBuilder
from streams.bench.load import create_topic
from streams.notify.sink_worker import RebalanceListener
from tests.support.kafka import send_all
from tests.support.notify import write_sinks

pytestmark = pytest.mark.kafka


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
