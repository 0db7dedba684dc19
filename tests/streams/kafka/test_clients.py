"""``follow_escalations`` (``spikewatch tail``, the demo's printer) on the real broker: from
its start or from the beginning, on topics that exist and on topics created after it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from streams.bench.load import create_topic
from streams.kafka.clients import follow_escalations
from tests.support.kafka import search_timing_out_once, send_all
from tests.support.notify import incident

pytestmark = pytest.mark.kafka


async def test_a_tail_shows_each_escalation_once_on_old_and_new_topics(bootstrap: str) -> None:
    prefix = f"oncall-{uuid.uuid4().hex[:8]}."
    before, on_old, on_new = (incident(f"b-{n}", updates=0, resolve=False)[0] for n in range(3))
    await create_topic(bootstrap, prefix + "old", 1)
    await send_all(bootstrap, prefix + "old", [(b"k", before.to_json_bytes())])
    seen: dict[bool, list[tuple[str, str]]] = {False: [], True: []}

    async def follow(from_beginning: bool) -> None:
        async for topic, escalation in follow_escalations(
            bootstrap, prefix, from_beginning=from_beginning
        ):
            seen[from_beginning].append((topic, escalation.labels.broadcast_id))

    following = [asyncio.create_task(follow(from_beginning)) for from_beginning in seen]
    try:
        await asyncio.sleep(1.0)
        await send_all(bootstrap, prefix + "old", [(b"k", on_old.to_json_bytes())])
        # Created and written at once, before the followers' next metadata refresh finds
        # it; finding it re-assigns the old topic's partition too.
        await create_topic(bootstrap, prefix + "new", 1)
        await send_all(bootstrap, prefix + "new", [(b"k", on_new.to_json_bytes())])
        for _ in range(200):
            if len(seen[True]) >= 3 and len(seen[False]) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # a record shown twice would show by now
    finally:
        for task in following:
            task.cancel()
        for task in following:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    old, new = prefix + "old", prefix + "new"
    assert sorted(seen[False]) == [(new, "b-2"), (old, "b-1")]
    assert sorted(seen[True]) == [(new, "b-2"), (old, "b-0"), (old, "b-1")]


async def test_a_tail_places_a_new_topic_again_when_the_broker_did_not_answer(
    bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"oncall-{uuid.uuid4().hex[:8]}."
    refused: list[int] = []
    monkeypatch.setattr(AIOKafkaConsumer, "offsets_for_times", search_timing_out_once(refused))
    page = incident("b-new", updates=0, resolve=False)[0]
    seen: list[str] = []

    async def follow() -> None:
        async for _, escalation in follow_escalations(bootstrap, prefix):
            seen.append(escalation.labels.broadcast_id)

    following = asyncio.create_task(follow())
    try:
        await asyncio.sleep(1.0)
        await create_topic(bootstrap, prefix + "new", 1)
        await send_all(bootstrap, prefix + "new", [(b"k", page.to_json_bytes())])
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    assert refused == [1]
    assert seen == ["b-new"]
