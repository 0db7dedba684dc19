"""``spikewatch produce``: paced synthetic traffic to the input topic."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

import orjson

from models.report import Category
from streams.kafka.clients import producer
from streams.kafka.security import client_options
from streams.replay.output_files import output_file, prepare_output
from streams.replay.scenarios.builder import SCENARIO_START, ScenarioMessage
from streams.replay.scenarios.catalogue import build_scenario, write_jsonl
from streams.replay.traffic import TrafficGenerator, paced
from streams.settings import Settings

SURGE_REPORTERS = 12
SURGE_SECONDS = 6.0


@dataclass(frozen=True, slots=True)
class ProducePlan:
    rate: float
    duration: float
    broadcasts: int
    surge_at: float | None
    malformed_every: int
    seed: int


async def produce_traffic(settings: Settings, plan: ProducePlan) -> int:
    """Send background traffic, optionally a surge on one small broadcast; return the count."""
    generator = TrafficGenerator(
        broadcasts=plan.broadcasts, rate_per_second=plan.rate, seed=plan.seed
    )
    target = generator.smallest()
    surge_times = (
        [plan.surge_at + i * SURGE_SECONDS / SURGE_REPORTERS for i in range(SURGE_REPORTERS)]
        if plan.surge_at is not None
        else []
    )
    sent = 0
    start = time.time()
    async with producer(settings.kafka_bootstrap, **client_options(settings)) as client:
        for due in paced(plan.rate, start):
            if due - start >= plan.duration:
                break
            await asyncio.sleep(max(0.0, due - time.time()))
            now = time.time()
            while surge_times and now - start >= surge_times[0]:
                surge_times.pop(0)
                report = generator.surge(target, Category.HARASSMENT, now)
                await client.send(
                    settings.input_topic, orjson.dumps(report), key=target.broadcast_id.encode()
                )
                sent += 1
            sent += 1
            if plan.malformed_every and sent % plan.malformed_every == 0:
                await client.send(settings.input_topic, generator.malformed(), key=b"garbage")
                continue
            report = generator.background(now)
            await client.send(
                settings.input_topic, orjson.dumps(report), key=report["broadcast_id"].encode()
            )
        await client.flush()
    return sent


def produce_scenario(settings: Settings, name: str, seed: int, out: str | None) -> int:
    """Write scenario ``name`` as a JSON-lines log, or send it to the input topic.

    Sent to Kafka, the scenario is shifted so that its last delivery is now and
    sent as fast as the broker takes it, in delivery order, keyed by broadcast
    id, each record stamped with its delivery time (so late reports are late on
    the topic too; a report from a clock running ahead stays in the future).
    """
    if out is not None:
        prepare_output(out, "log")
        messages = build_scenario(name, seed=seed)
        if out == "-":
            count = write_jsonl(messages, sys.stdout.buffer)
        else:
            with output_file(out, "log") as sink:
                count = write_jsonl(messages, sink)
        print(f"wrote {count} messages of scenario {name} to {out}", file=sys.stderr)
        return 0
    draft = build_scenario(name, seed=seed)
    end = max((m.delivered_at for m in draft), default=SCENARIO_START)
    messages = build_scenario(name, seed=seed, start=SCENARIO_START + time.time() - end)
    sent = asyncio.run(_send_scenario(settings, messages))
    print(f"sent {sent} messages of scenario {name} to {settings.input_topic}", file=sys.stderr)
    return 0


async def _send_scenario(settings: Settings, messages: list[ScenarioMessage]) -> int:
    async with producer(settings.kafka_bootstrap, **client_options(settings)) as client:
        for message in messages:
            await client.send(
                settings.input_topic,
                message.value,
                key=message.key,
                timestamp_ms=round(message.delivered_at * 1000),
            )
        await client.flush()
    return len(messages)
