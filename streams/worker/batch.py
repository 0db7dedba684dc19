"""The batch loop: a fetch of reports in, escalations out, state written, reports acknowledged.

The ordering rule, stated once and enforced here:

    decode -> decide -> send escalations (awaited) -> write states -> acknowledge reports

* an escalation is acknowledged by Kafka before the state that records it is
  written, so the changelog never holds a decision whose escalation was lost;
* a state is written before the reports counted into it are acknowledged, so a
  crash re-delivers exactly the reports the restored state has not seen (the
  state carries the offset of the last report counted, and re-delivered ones are
  recognised as ``replayed``);
* batches are acknowledged in the order they were decided, each after the one
  before: Faust commits the first run of consecutive acknowledged offsets, and
  on a fresh group (nothing committed yet) it does not check that the run
  starts where reading started, so a later batch acknowledged first could be
  committed ahead of states not yet written.

States are written at most every ``write_interval_seconds``, not after every
fetch. A state holds its whole window (every distinct reporter in it), so its
encoding grows with the window; a busy broadcast is touched by nearly every
fetch, and writing it each time made the cost of a fetch grow as the windows
filled until the worker fell behind its input (``docs/benchmarks.md``, "Latency
that grew with the state"). Written once per interval, each touched state is
encoded once however often it was reported. What waiting costs: a crash loses at
most one interval of state writes and the write under way
(``spikewatch_state_write_seconds``), whose reports are unacknowledged and decided
again after the restart, re-sending any escalation they caused with the same
``dedup_key``, ``sequence`` and ``event_id`` (``docs/guarantees.md``).

A write is spread over the fetches that follow it. At full windows, encoding the
states a second of traffic touched takes a large part of that second, and done
in one go it held up every report that arrived meanwhile (``docs/benchmarks.md``,
"A worker at 5,000 reports/s once the windows are full"). So once a write is due
the states waiting are settled, and each fetch, after its batches are decided and
their escalations acknowledged, encodes them for at most ``WRITE_SLICE_SECONDS``;
the last slice flushes and the write's reports are acknowledged after it. A state
decided again by a later fetch before its slice is encoded with that fetch's
reports too, which the rule allows: their escalations are acknowledged by then
(slices run only between batches), and their own acknowledgement waits for the
next write. The next write starts once this one is done, so a worker whose writes
fall behind writes less often, and each busy broadcast once per write. A backlog
(``MAX_UNWRITTEN_REPORTS``), a rebalance and an orderly stop finish the write at
once (:meth:`BatchLoop.write_decided`), so only a crash ever re-sends.

The resolve timer takes the same turn (one lock) as the batch loop, so the two
never interleave their sends and writes; each tick also moves the write on by a
slice, or finishes it when no fetch came since the tick before (no report is
waiting behind it then, and its reports are acknowledged sooner). A state the
tick drops (idle, or of a partition handed on) is skipped by the write under way:
never written after its drop. A failed state write stops the worker: its reports
stay unacknowledged and are decided again after the restart.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import faust
from faust.types import Message

from models.dead_letter import DeadLetter
from models.escalation_v2 import EscalationV2
from streams.kafka.changelog import ChangelogWriter
from streams.kafka.ingest import stopping
from streams.logs import get_logger
from streams.worker.metrics import WorkerMetrics
from streams.worker.outputs import OutputWriter, TopicKind
from streams.worker.pipeline import BatchOutput, InputMessage, ReportPipeline
from streams.worker.state_cache import BroadcastStates

log = get_logger("spikewatch.batch")

MAX_BATCHES_IN_FLIGHT = 4
"""State writes that may be on their way to the changelog while the next fetch is decided:
a slow broker slows the worker instead of piling up memory."""

MAX_UNWRITTEN_REPORTS = 20_000
"""Reports whose states may wait for the interval: a worker catching up on a backlog takes
fetches of tens of thousands of reports and writes after each, rather than holding every
message of a second for acknowledgement and encoding every state it touched in one go."""

WRITE_SLICE_SECONDS = 0.01
"""How long a fetch or a tick may spend encoding the write under way: what the write adds
to the latency of the reports behind it, against how many fetches it takes to finish."""


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where decisions go: the topics the batch loop and the on-call loop write."""

    dead_letters: faust.TopicT
    input: faust.TopicT
    oncall: Mapping[str, faust.TopicT]
    shadow: faust.TopicT | None


class Outbox:
    """Sends what a batch decided, and hands back the acknowledgements to await.

    Every record goes through ``writer``, which sizes it to its topic and turns a
    permanent refusal into a dead letter instead of a failed batch
    (:mod:`streams.worker.outputs`).
    """

    def __init__(self, outputs: Outputs, metrics: WorkerMetrics, writer: OutputWriter) -> None:
        self.outputs = outputs
        self.metrics = metrics
        self.writer = writer

    async def send_batch(self, output: BatchOutput) -> None:
        pending = await self.send_refused(
            output.dead_letters, self.outputs.dead_letters, output.reroutes, self.outputs.input
        )
        pending.extend(await self.send_escalations(output.escalations))
        pending.extend(await self.send_shadow(output.shadow_escalations))
        if pending:
            await asyncio.gather(*pending)

    async def send_refused(
        self,
        dead_letters: list[tuple[bytes | None, DeadLetter]],
        dead_letter_topic: faust.TopicT,
        reroutes: list[tuple[bytes, bytes]],
        home_topic: faust.TopicT,
    ) -> list[Awaitable[None]]:
        """Dead letters out, and messages with the wrong key back to their topic, keyed right."""
        pending = await self.writer.dead_letters(
            [(key, letter.to_json_bytes()) for key, letter in dead_letters], dead_letter_topic
        )
        pending.extend(await self.writer.reroutes(reroutes, home_topic, dead_letter_topic))
        return pending

    async def send_escalations(self, escalations: list[EscalationV2]) -> list[Awaitable[None]]:
        for escalation in escalations:
            self.metrics.count_escalation(escalation)
        return await self.writer.escalations(
            [(self.outputs.oncall[e.labels.team], e) for e in escalations], TopicKind.ONCALL
        )

    async def send_shadow(self, escalations: list[EscalationV2]) -> list[Awaitable[None]]:
        shadow = self.outputs.shadow
        if shadow is None:
            return []
        return await self.writer.escalations(
            [(shadow, escalation) for escalation in escalations], TopicKind.SHADOW
        )


@dataclass(slots=True)
class Unwritten:
    """Batches decided and sent whose states are not written yet, with their messages,
    which are acknowledged once those states are."""

    outputs: list[BatchOutput] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    since: float | None = None
    """Monotonic time of the oldest decision waiting, ``None`` while nothing waits."""

    def add(self, outputs: list[BatchOutput], messages: Sequence[Message], now: float) -> None:
        self.outputs.extend(outputs)
        self.messages.extend(messages)
        if self.since is None:
            self.since = now

    def waited(self, now: float) -> float:
        return 0.0 if self.since is None else now - self.since


@dataclass(frozen=True, slots=True)
class Flush:
    """A changelog flush, the messages acknowledged once Kafka has it, and when the write
    it ends started (``None`` for a tick's flush that ends no write)."""

    written: asyncio.Future[None]
    messages: list[Message]
    started: float | None = None


@dataclass(slots=True)
class Writing:
    """A write under way: its steps (a state each, :meth:`ReportPipeline.saving`) and the
    messages acknowledged once Kafka has the last of them."""

    steps: Iterator[None]
    messages: list[Message]
    started: float
    """Monotonic time the write was settled: ``spikewatch_state_write_seconds`` runs from it."""

    def advance(self, deadline: float | None) -> bool:
        """Encode states until ``deadline`` (``time.perf_counter``; ``None``: every one);
        whether the write is all queued. At least one state per call, so it always ends."""
        for _ in self.steps:
            if deadline is not None and time.perf_counter() >= deadline:
                return False
        return True


class BatchLoop:
    """Runs the ordering rule of this module over fetches of reports and resolve ticks."""

    def __init__(
        self,
        pipeline: ReportPipeline,
        outbox: Outbox,
        changelog: ChangelogWriter,
        *,
        batch_max_messages: int,
        write_interval_seconds: float,
        acknowledge: Callable[[Message], object],
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.pipeline = pipeline
        self.outbox = outbox
        self.changelog = changelog
        self.metrics = outbox.metrics
        self.batch_max_messages = batch_max_messages
        self.write_interval_seconds = write_interval_seconds
        self._acknowledge = acknowledge
        self._crash = crash
        self._acknowledging: deque[asyncio.Future[None]] = deque()
        self._turn = asyncio.Lock()
        self._unwritten = Unwritten()
        self._writing: Writing | None = None
        self._fetched_since_tick = False

    async def handle_fetch(self, messages: Sequence[Message]) -> None:
        """One fetch of reports: decided in batches of at most ``batch_max_messages``,
        each batch's escalations sent as soon as it is decided; then a slice of the
        write under way, which the states wait for (see the module docstring).

        No escalation waits for more than one batch. Every message is decided and
        acknowledged, even of a partition revoked meanwhile (the commit of a revoked
        partition is discarded and its new owner reads it again, as with a Faust
        agent): a message left unacknowledged could let Faust commit past it, since
        Faust's commit logic assumes acknowledgements come in offset order.
        """
        size = self.batch_max_messages
        async with self._turn:
            decided = [
                await self._decide_and_send(messages[start : start + size])
                for start in range(0, len(messages), size)
            ]
            self._unwritten.add(decided, messages, time.monotonic())
            self._fetched_since_tick = True
            written = self._write_slice(WRITE_SLICE_SECONDS)
        if written is not None:
            await self._acknowledge_once_written(written)
        self.metrics.last_progress.set(time.time())

    async def write_decided(self) -> None:
        """Write every state decided so far and wait until Kafka has them and their
        reports are acknowledged: before a rebalance hands partitions on, and before
        an orderly stop, so the next owner restores them instead of deciding again."""
        async with self._turn:
            written = self._write_everything()
        await self._acknowledge_once_written(written)
        while self._acknowledging:
            await self._acknowledging.popleft()

    def _write_slice(self, seconds: float | None) -> Flush | None:
        """Start a write when one is due and none is under way, and encode it for
        ``seconds`` (``None``: to its end); the flush and its messages once the write is
        all queued. Called holding the turn."""
        if len(self._unwritten.messages) >= MAX_UNWRITTEN_REPORTS:
            return self._write_everything()
        if self._writing is None:
            if self._unwritten.waited(time.monotonic()) < self.write_interval_seconds:
                return None
            self._writing = self._start_writing()
        deadline = None if seconds is None else time.perf_counter() + seconds
        if not self._writing.advance(deadline):
            return None
        writing, self._writing = self._writing, None
        return Flush(self.changelog.flush(), writing.messages, writing.started)

    def _write_everything(self) -> Flush:
        """Finish the write under way and write everything waiting, in one flush."""
        writings = [self._start_writing()]
        if self._writing is not None:
            writings.insert(0, self._writing)
            self._writing = None
        for writing in writings:
            writing.advance(None)
        messages = [message for writing in writings for message in writing.messages]
        return Flush(self.changelog.flush(), messages, writings[0].started)

    def _start_writing(self) -> Writing:
        """Settle what the next write covers: every batch decided since the last one."""
        unwritten, self._unwritten = self._unwritten, Unwritten()
        return Writing(
            self.pipeline.saving(*unwritten.outputs), unwritten.messages, time.monotonic()
        )

    async def _decide_and_send(self, messages: Sequence[Message]) -> BatchOutput:
        received = time.time()
        output = self.pipeline.process(input_message(message) for message in messages)
        await self.outbox.send_batch(output)
        sent = time.time()
        for escalation in output.escalations:
            self.metrics.observe_ingest_to_escalation(
                sent - received, escalation.labels.broadcast_id
            )
        if output.newest_event_time is not None:
            self.metrics.event_time_lag.set(max(0.0, sent - output.newest_event_time))
        return output

    async def _acknowledge_once_written(self, flush: Flush) -> None:
        previous = self._acknowledging[-1] if self._acknowledging else None

        async def acknowledge() -> None:
            if previous is not None:
                await previous
            try:
                await flush.written
            except (Exception, asyncio.CancelledError) as error:
                if not stopping():
                    log.critical(
                        "state_write_failed", error=type(error).__name__, detail=str(error)
                    )
                    await self._crash(error)
                raise
            if flush.started is not None:
                self.metrics.state_write_seconds.observe(time.monotonic() - flush.started)
            for message in flush.messages:
                self._acknowledge(message)

        self._acknowledging.append(asyncio.ensure_future(acknowledge()))
        while len(self._acknowledging) > MAX_BATCHES_IN_FLIGHT:
            await self._acknowledging.popleft()

    async def resolve_and_evict(
        self, clocks: dict[int, float], lanes: Iterable[BroadcastStates]
    ) -> int:
        """Resolve quiet incidents and drop idle state at each partition's clock, then
        move the write under way on by a slice (to its end if no fetch came since the
        tick before).

        Same rule as a batch: the resolves are sent and acknowledged before the
        states recording them are written. What the tick queued is flushed with it
        (with any slices queued before it) even while the write is unfinished.
        Returns the open incidents.
        """
        async with self._turn:
            owned = set(clocks)
            for states in lanes:
                states.retain(owned)
            ticked = self.pipeline.tick(clocks)
            for escalation in ticked.escalations:
                log.info(
                    "incident_resolved",
                    broadcast_id=escalation.labels.broadcast_id,
                    dedup_key=escalation.dedup_key,
                )
            pending = await self.outbox.send_escalations(ticked.escalations)
            pending.extend(await self.outbox.send_shadow(ticked.shadow_escalations))
            if pending:
                await asyncio.gather(*pending)
            self.pipeline.commit(ticked)
            idle = not self._fetched_since_tick
            self._fetched_since_tick = False
            written = self._write_slice(None if idle else WRITE_SLICE_SECONDS) or Flush(
                self.changelog.flush(), []
            )
        await self._acknowledge_once_written(written)
        return ticked.open_incidents


def input_message(message: Message) -> InputMessage:
    return InputMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
    )
