"""The batch loop's ordering rule without a broker: escalations out, then states written at
most once per interval, then reports acknowledged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from faust.types import Message

from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from models.escalation_v2 import EscalationV2
from streams.kafka.changelog import ChangelogWriter
from streams.worker import batch
from streams.worker.batch import BatchLoop, Outbox
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import BatchOutput, ReportPipeline
from streams.worker.state_cache import LEARNER_KEY_PREFIX, BroadcastStates
from tests.support.reports import TRUSTED_FLAGGER, keyed, report

POLICY = load_policy()


class Journal:
    """What happened, in order: escalations sent, states written, flushes, acknowledgements."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.acknowledged: list[int] = []

    def count(self, event: str) -> int:
        return self.events.count(event)


class JournalTable(dict[bytes, bytes]):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if not key.startswith(LEARNER_KEY_PREFIX):
            self.journal.events.append(f"written {key.decode()}")
        super().__setitem__(key, value)


class JournalOutbox(Outbox):
    """Sends nothing anywhere; journals each escalation as Kafka would have acknowledged it."""

    def __init__(self, metrics: WorkerMetrics, journal: Journal) -> None:
        self.metrics = metrics
        self.journal = journal

    async def send_batch(self, output: BatchOutput) -> None:
        await self._sent(output.escalations)

    async def send_escalations(self, escalations: list[EscalationV2]) -> list[Any]:
        await self._sent(escalations)
        return []

    async def send_shadow(self, escalations: list[EscalationV2]) -> list[Any]:
        return []

    async def _sent(self, escalations: list[EscalationV2]) -> None:
        self.journal.events.extend(f"sent {e.event_action.value}" for e in escalations)


class HeldChangelog(ChangelogWriter):
    """Each flush is journalled and done only when the test lets Kafka acknowledge it."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.pending: list[asyncio.Future[None]] = []

    def flush(self) -> asyncio.Future[None]:
        self.journal.events.append("flushed")
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(written)
        return written

    def acknowledge_all(self) -> None:
        for written in self.pending:
            if not written.done():
                written.set_result(None)


def make_loop(write_interval_seconds: float) -> tuple[BatchLoop, Journal, HeldChangelog]:
    journal = Journal()
    metrics = WorkerMetrics(POLICY.teams)
    pipeline = ReportPipeline(
        DetectionEngine(POLICY),
        BroadcastStates(JournalTable(journal)),
        metrics,
        max_message_bytes=64 * 1024,
        max_future_skew_seconds=300,
    )
    changelog = HeldChangelog(journal)

    async def crash(error: BaseException) -> None:
        raise AssertionError(f"the loop crashed: {error!r}")

    loop = BatchLoop(
        pipeline,
        JournalOutbox(metrics, journal),
        changelog,
        batch_max_messages=2,
        write_interval_seconds=write_interval_seconds,
        acknowledge=lambda message: journal.acknowledged.append(message.offset),
        crash=crash,
    )
    return loop, journal, changelog


_offsets = iter(range(1_000_000))


def fetch(*payloads: dict[str, Any]) -> list[Message]:
    return [
        Message("reports", 0, next(_offsets), time.time(), 0, None, key, value, None)
        for key, value in (keyed(payload) for payload in payloads)
    ]


def ordinary(broadcast_id: str, count: int) -> list[dict[str, Any]]:
    """Reports of one viewer, who counts once however often they report: nothing pages."""
    return [
        report(broadcast_id, "spam", reporter_id=f"viewer-{broadcast_id}") for _ in range(count)
    ]


def writes_timed(loop: BatchLoop) -> float | None:
    return loop.metrics.registry.get_sample_value("spikewatch_state_write_seconds_count")


async def settled(
    changelog: HeldChangelog, work: asyncio.Future[Any], until: Callable[[], bool] = lambda: True
) -> None:
    """Let Kafka acknowledge every flush, as they come, until ``work`` is done and ``until``
    holds (acknowledgements of a fetch run on after the fetch's handler returns)."""

    async def acknowledging() -> None:
        while not (work.done() and until()):
            changelog.acknowledge_all()
            await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(acknowledging(), work), timeout=5)


async def test_a_busy_broadcast_is_written_once_per_interval_however_many_fetches_reported_it() -> (
    None
):
    loop, journal, changelog = make_loop(write_interval_seconds=3600)
    fetches = [fetch(*ordinary("b-busy", 3)) for _ in range(4)]
    for messages in fetches:
        await loop.handle_fetch(messages)
    assert journal.count("written b-busy") == 0
    assert journal.acknowledged == []

    written = asyncio.ensure_future(loop.write_decided())
    await asyncio.sleep(0)
    assert journal.count("written b-busy") == 1
    assert journal.count("flushed") == 1
    assert not written.done(), "written before Kafka acknowledged the changelog"
    await settled(changelog, written)
    assert journal.acknowledged == [m.offset for messages in fetches for m in messages]


async def test_an_escalation_goes_out_with_its_batch_and_its_state_follows_it() -> None:
    loop, journal, changelog = make_loop(write_interval_seconds=3600)
    critical = report("b-critical", "child_safety", reporter=dict(TRUSTED_FLAGGER))
    await loop.handle_fetch(fetch(critical))
    assert journal.events == ["sent trigger"]

    written = asyncio.ensure_future(loop.write_decided())
    await settled(changelog, written)
    assert journal.events == ["sent trigger", "written b-critical", "flushed"]


async def test_a_fetch_after_the_interval_writes_everything_waiting_and_acknowledges_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "WRITE_SLICE_SECONDS", 60.0)
    loop, journal, changelog = make_loop(write_interval_seconds=0.05)
    first, second = fetch(*ordinary("b-one", 2)), fetch(*ordinary("b-two", 2))
    await loop.handle_fetch(first)
    assert journal.count("flushed") == 0
    await asyncio.sleep(0.06)
    pending = asyncio.ensure_future(loop.handle_fetch(second))
    await asyncio.sleep(0)
    assert journal.events == ["written b-one", "written b-two", "flushed"]
    assert journal.acknowledged == []
    await settled(changelog, pending, until=lambda: len(journal.acknowledged) == 4)
    assert journal.acknowledged == [m.offset for m in first + second]


async def test_a_write_is_spread_over_the_fetches_after_it_and_finished_by_an_idle_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "WRITE_SLICE_SECONDS", 0.0)
    loop, journal, changelog = make_loop(write_interval_seconds=0)
    first = fetch(*ordinary("b-one", 1), *ordinary("b-two", 1), *ordinary("b-three", 1))
    await loop.handle_fetch(first)
    assert journal.events == ["written b-one"]
    later = [fetch(*ordinary("b-four", 1)), fetch(*ordinary("b-five", 1), *ordinary("b-six", 1))]
    await loop.handle_fetch(later[0])
    assert journal.events == ["written b-one", "written b-two"]
    pending = asyncio.ensure_future(loop.handle_fetch(later[1]))
    await settled(changelog, pending, until=lambda: len(journal.acknowledged) == 3)
    assert journal.events == ["written b-one", "written b-two", "written b-three", "flushed"]
    assert journal.acknowledged == [m.offset for m in first]
    assert writes_timed(loop) == 1

    for _tick in range(2):
        ticked = asyncio.ensure_future(loop.resolve_and_evict({0: time.time()}, []))
        await settled(changelog, ticked)
    await settled(changelog, ticked, until=lambda: len(journal.acknowledged) == 6)
    after_fetches = ["written b-four", "flushed"]
    when_no_fetch_came = ["written b-five", "written b-six", "flushed"]
    assert journal.events[4:] == after_fetches + when_no_fetch_came
    assert journal.acknowledged == [m.offset for m in first + later[0] + later[1]]
    assert writes_timed(loop) == 2, "the first tick's flush ended no write"


async def test_a_state_decided_again_before_its_slice_is_written_after_its_escalation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "WRITE_SLICE_SECONDS", 0.0)
    loop, journal, changelog = make_loop(write_interval_seconds=0)
    await loop.handle_fetch(fetch(*ordinary("b-one", 1), *ordinary("b-two", 1)))
    critical = report("b-two", "child_safety", reporter=dict(TRUSTED_FLAGGER))
    pending = asyncio.ensure_future(loop.handle_fetch(fetch(critical)))
    await settled(changelog, pending)
    assert journal.events == ["written b-one", "sent trigger", "written b-two", "flushed"]


async def test_a_state_the_tick_drops_is_not_written_after_its_drop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "WRITE_SLICE_SECONDS", 0.0)
    loop, journal, changelog = make_loop(write_interval_seconds=0)
    messages = fetch(*ordinary("b-one", 1), *ordinary("b-idle", 1))
    await loop.handle_fetch(messages)
    assert journal.events == ["written b-one"]

    a_day_later = {0: time.time() + 86_400}
    ticked = asyncio.ensure_future(loop.resolve_and_evict(a_day_later, []))
    await settled(changelog, ticked, until=lambda: len(journal.acknowledged) == 2)
    assert journal.events == ["written b-one", "flushed"]
    assert journal.acknowledged == [m.offset for m in messages]


async def test_a_backlog_is_written_as_it_is_decided_not_held_for_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "MAX_UNWRITTEN_REPORTS", 4)
    loop, journal, changelog = make_loop(write_interval_seconds=3600)
    await loop.handle_fetch(fetch(*ordinary("b-backlog", 3)))
    assert journal.count("flushed") == 0
    pending = asyncio.ensure_future(loop.handle_fetch(fetch(*ordinary("b-backlog", 3))))
    await settled(changelog, pending, until=lambda: len(journal.acknowledged) == 6)
    assert journal.events == ["written b-backlog", "flushed"]
