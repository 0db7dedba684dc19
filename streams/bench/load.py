"""Benchmark load: pre-filled topics, and the steady producer of the latency phase.

The latency producer runs as its own process (``python -m streams.bench.load``)
so that producing 5,000 reports a second does not steal the event loop of the
process that times the escalations. Injected reports carry their produce time
in ``report_id`` (``bench-<unix ns>-<n>``); an escalation names the report that
crossed the line as the newest of its ``sample_report_ids``, so latency needs no
shared state between the two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from models.report import Category, Platform
from streams.replay.traffic import Broadcast, TrafficGenerator

INJECTED_PREFIX = "bench-"
SURGE_REPORTERS = 8
SURGE_SPACING_SECONDS = 0.05
SURGE_VIEWERS = 300
SEND_WINDOW = 5_000
Message = tuple[bytes, bytes]


def stamped_report_id(number: int) -> str:
    return f"{INJECTED_PREFIX}{time.time_ns()}-{number}"


def produced_at(report_id: str) -> float | None:
    """Produce time (Unix seconds) embedded by :func:`stamped_report_id`, if any."""
    if not report_id.startswith(INJECTED_PREFIX):
        return None
    nanos, _, _ = report_id[len(INJECTED_PREFIX) :].partition("-")
    return int(nanos) / 1e9 if nanos.isdigit() else None


def _keyed(report: dict[str, Any]) -> Message:
    return str(report["broadcast_id"]).encode(), orjson.dumps(report)


def realistic_mix(*, reports: int, broadcasts: int, seed: int, end: float) -> Iterator[Message]:
    """``reports`` messages over ``broadcasts`` broadcasts, event times ending at ``end``.

    Mostly benign traffic at the reference platform's rates, plus what production sees
    now and then: an abuse surge on a small broadcast every 25,000 messages, a
    trusted flagger's child-safety report every 50,000, one malformed message in
    10,000. Event times are spaced as if 5,000 reports arrived a second.
    """
    generator = TrafficGenerator(
        broadcasts=broadcasts, rate_per_second=5_000.0, seed=seed, prefix="tp"
    )
    start = end - reports / 5_000.0
    surge_rank = itertools.count()
    for index in range(reports):
        at = start + index / 5_000.0
        if index % 10_000 == 9_999:
            yield b"garbage", generator.malformed()
        elif index % 50_000 == 49_999:
            target = generator.smallest(next(surge_rank) % 20)
            yield _keyed(generator.trusted_report(target, Category.CHILD_SAFETY, at))
        elif index % 25_000 >= 25_000 - SURGE_REPORTERS:
            target = generator.smallest(index // 25_000 % 20)
            yield _keyed(generator.surge(target, Category.HARASSMENT, at))
        else:
            yield _keyed(generator.background(at))


def one_per_broadcast(*, broadcasts: int, seed: int, at: float) -> Iterator[Message]:
    """One benign report on each of ``broadcasts`` broadcasts: that many live states."""
    generator = TrafficGenerator(
        broadcasts=broadcasts, rate_per_second=5_000.0, seed=seed, prefix="st"
    )
    for broadcast in generator.broadcasts:
        yield _keyed(generator.benign(broadcast, generator.category(), at))


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()


async def topic_messages(bootstrap: str, topic: str, partitions_count: int) -> int:
    """Messages a topic holds (end minus beginning offsets, all partitions)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in range(partitions_count)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


def bulk_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=10,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


async def fill(bootstrap: str, topic: str, messages: Iterable[Message]) -> int:
    """Send everything and wait for every acknowledgement; return the count."""
    producer = bulk_producer(bootstrap)
    sent = 0
    try:
        await producer.start()
        pending: list[asyncio.Future[Any]] = []
        for key, value in messages:
            pending.append(await producer.send(topic, value, key=key))
            sent += 1
            if len(pending) >= SEND_WINDOW:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def steady_load(
    bootstrap: str, topic: str, *, rate: float, seconds: float, inject_every: float, seed: int
) -> dict[str, float]:
    """Background reports at ``rate`` a second, timed injections that must escalate.

    Injections alternate between a trusted flagger's child-safety report and a
    surge of credible viewers on a fresh small broadcast; each goes to a broadcast
    of its own, since an open incident does not trigger again.
    """
    generator = TrafficGenerator(broadcasts=2_000, rate_per_second=rate, seed=seed)
    producer = bulk_producer(bootstrap)
    await producer.start()
    stamps = itertools.count(1)
    injections = 0
    surge_queue: list[tuple[float, Broadcast]] = []
    background = stamped = 0
    began = time.time()
    next_injection = began + 1.0
    try:
        while (now := time.time()) < began + seconds:
            due = int((now - began) * rate) - background
            for _ in range(due):
                key, value = _keyed(generator.background(now))
                await producer.send(topic, value, key=key)
            background += max(0, due)
            if next_injection <= now < began + seconds - 1.0:
                injections += 1
                target = Broadcast(
                    f"lat-{injections:06d}",
                    f"lat-owner-{injections}",
                    SURGE_VIEWERS,
                    Platform.PERISCOPE,
                )
                if injections % 2:
                    report = generator.trusted_report(target, Category.CHILD_SAFETY, now)
                    await _send_stamped(producer, topic, report, next(stamps))
                    stamped += 1
                else:
                    surge_queue.extend(
                        (now + i * SURGE_SPACING_SECONDS, target) for i in range(SURGE_REPORTERS)
                    )
                next_injection += inject_every
            while surge_queue and surge_queue[0][0] <= now:
                _, target = surge_queue.pop(0)
                report = generator.surge(target, Category.HARASSMENT, now)
                await _send_stamped(producer, topic, report, next(stamps))
                stamped += 1
            await asyncio.sleep(0.002)
        await producer.flush()
    finally:
        await producer.stop()
    elapsed = time.time() - began
    return {
        "messages": background + stamped,
        "injections": injections,
        "rate": background / elapsed,
        "seconds": elapsed,
    }


async def _send_stamped(
    producer: AIOKafkaProducer, topic: str, report: dict[str, Any], number: int
) -> None:
    report["report_id"] = stamped_report_id(number)
    key, value = _keyed(report)
    await producer.send(topic, value, key=key)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="steady load for the latency benchmark")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--inject-every", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    summary = asyncio.run(
        steady_load(
            args.bootstrap,
            args.topic,
            rate=args.rate,
            seconds=args.seconds,
            inject_every=args.inject_every,
            seed=args.seed,
        )
    )
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
