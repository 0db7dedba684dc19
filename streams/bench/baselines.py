"""B0 and B1: what plain Python with the same Kafka client does with the same topic.

B0 only fetches (the I/O ceiling); B1 also decodes each value with orjson and
counts reports per broadcast in a dict, the least a program doing this job can
do. Both read from the beginning without a consumer group, like a fresh worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

READ_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Throughput:
    """Wall-clock rate, and CPU per report: the latter suffers less from a busy machine."""

    reports_per_second: float
    cpu_seconds_per_report: float


Handler = Callable[[list[bytes | None]], None]


def count_per_broadcast(counts: dict[str, int]) -> Handler:
    def handle(values: list[bytes | None]) -> None:
        for value in values:
            if value is None:
                continue
            try:
                report = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
            if isinstance(report, dict):
                broadcast_id = str(report.get("broadcast_id"))
                counts[broadcast_id] = counts.get(broadcast_id, 0) + 1

    return handle


def ignore(_values: list[bytes | None]) -> None:
    """B0's handler: the bytes are fetched and dropped."""


async def read_all(
    bootstrap: str, topic: str, partitions: int, expected: int, handle: Handler
) -> Throughput:
    """Reports per second (and CPU seconds per report) from the first fetched batch on.

    The clock starts when the first batch arrives, as the worker's figure starts
    at its first visible progress: connection and first-fetch set-up are left out
    of both. A topic small enough to arrive in one batch is timed from the request.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    try:
        await consumer.start()
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        seen = first_batch = 0
        asked = first_at = time.perf_counter()
        first_cpu = time.process_time()
        while seen < expected:
            if time.perf_counter() - asked > READ_TIMEOUT_SECONDS:
                raise TimeoutError(f"read {seen} of {expected} messages from {topic}")
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                seen += len(records)
                handle([record.value for record in records])
            if seen and not first_batch:
                first_batch, first_at, first_cpu = seen, time.perf_counter(), time.process_time()
        finished, cpu = time.perf_counter(), time.process_time() - first_cpu
        if seen > first_batch:
            timed = seen - first_batch
            return Throughput(timed / (finished - first_at), cpu / timed)
        return Throughput(seen / (finished - asked), cpu / seen)
    finally:
        await consumer.stop()
