"""Whole fetches of the report topic handed to the pipeline at once, instead of one event at a time.

Faust's consumer loop delivers every message on its own: it wraps the delivery in
two tasks and an ``asyncio.wait`` (so a rebalance can interrupt it), the message
becomes an event in a stream queue, and the agent takes it out again. For the
report topic that per-message machinery cost more than deciding the report
(profiled: ``docs/benchmarks.md``). Here the consumer keeps Faust's group
membership, partition assignment, table recovery and offset commits, but hands
each fetch's report-topic messages to one coroutine as a list; messages of every
other topic (the on-call KPI agent's) still take Faust's path.

The handler runs shielded from cancellation: Faust cancels the fetch loop on every
rebalance, and a batch stopped between deciding and sending would leave
decisions in memory whose escalations never went out. The handler's own lock
keeps a new fetch loop from deciding alongside a batch that is finishing.

The batch handler owns acknowledgement: it calls :meth:`faust.types.ConsumerT.ack`
for each message once everything the message caused is durable, and Faust
commits the highest contiguously acknowledged offset as before.

This module leans on internals that are not Faust's or aiokafka's public API
(both are pinned in ``pyproject.toml``; after upgrading either, run
``tests/streams/test_ingest.py`` and ``tests/faults``): Faust's consumer
``_getmany``, ``_new_consumer_thread``, ``_read_offset``, ``_add_gap``,
``_n_acked``, ``_commit_every`` and ``_committed_offset``, its consumer thread's
``_create_worker_consumer``, and aiokafka's ``AIOKafkaConsumer._fetch_max_wait_ms``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerT, Message
from mode import ServiceT

from streams.logs import get_logger

log = get_logger("spikewatch.ingest")

BatchHandler = Callable[[Sequence[Message]], Awaitable[None]]


def stopping() -> bool:
    """Whether the running task itself is being cancelled (shutdown, rebalance), as opposed
    to having met a cancelled future it awaited."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@dataclass(frozen=True, slots=True)
class BatchRoute:
    """Which topics' messages go to ``handle`` a fetch at a time."""

    topics: frozenset[str]
    handle: BatchHandler


class ActivePartitions(AbstractSet[TP]):
    """The consumer's live set of active partitions, as the fetcher must read it: empty means none.

    Faust hands the consumer thread its live set of active partitions, and the
    thread reads it again each time records arrive while a fetch waits (a fetch
    begun before a rebalance waits through it, then up to its timeout again).
    aiokafka's ``Fetcher.fetched_records`` returns the records of *every*
    assigned partition when that set is empty, and a rebalance empties it
    (``pause_partitions``) while such a fetch is still waiting. The fetch then
    hands back records of paused partitions, table changelogs included; Faust
    drops them, because its flow is stopped, yet aiokafka has moved the
    partitions' positions past them. When that happened after table recovery had
    positioned a changelog partition, recovery never got those records: it
    waited for them until the next rebalance (Faust logging "No event received
    for active tp ... since recovery start"), and the partitions it was taking
    over were not read meanwhile.
    """

    __slots__ = ("_live",)

    def __init__(self, live: set[TP]) -> None:
        self._live = live

    def __contains__(self, tp: object) -> bool:
        return tp in self._live

    def __iter__(self) -> Iterator[TP]:
        return iter(set(self._live))  # a copy: the main thread changes the set meanwhile

    def __len__(self) -> int:
        return len(self._live)

    def __bool__(self) -> bool:
        return True


class BatchingConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with the broker's wait for an empty fetch taken from the app.

    aiokafka keeps one fetch in flight per broker and does not fetch again a
    partition whose records are still buffered. While the worker decides a
    fetch of reports, the fetcher therefore asks only for the partitions that
    had nothing (the on-call and acknowledgement topics, say), and the broker
    holds that request until data comes or ``fetch_max_wait_ms`` passes; the
    reports' next fetch can leave only after it returns. Faust fixes that wait, and at
    its value a busy worker decided in bursts seconds apart and a worker working off a
    backlog spent part of every fetch waiting (figures: ``docs/benchmarks.md``). The app's
    ``fetch_max_wait_seconds`` (when it has one) replaces it.
    """

    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait = getattr(self.app, "fetch_max_wait_seconds", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = round(wait * 1000)  # read when the consumer starts
        return consumer


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, draining the routed topics a fetch at a time.

    The route is read from ``app.batch_route`` (set by :class:`streams.worker.app.Spikewatch`)
    when the fetch loop starts, so the consumer Faust builds needs no extra arguments.
    What Faust's own loop does per message is kept: a message below the read offset
    (re-fetched after a seek) is skipped, a jump in offsets on an acknowledged topic
    is recorded as a gap so commits can pass it, and a commit is forced every
    ``broker_commit_every`` acknowledgements. A fetch takes records only from the
    partitions active when they arrive (:class:`ActivePartitions`).
    """

    @property
    def _route(self) -> BatchRoute | None:
        return cast(BatchRoute | None, getattr(self.app, "batch_route", None))

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return BatchingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        route = self._route
        while not (self.should_stop or fetcher.should_stop):
            routed: list[Message] = []
            async for tp, message in self.getmany(timeout=1.0):
                if not await self._admit(tp, message):
                    continue
                if route is not None and tp.topic in route.topics:
                    routed.append(message)
                else:
                    await self.wait_first(self.callback(message), self.suspend_flow.wait())
            if routed and route is not None:
                await self._hand_over(route, routed)
            await self._commit_when_due()
            await self.sleep(0)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:  # noqa: ASYNC109
        """Fetch from the partitions active when the records arrive, none when none are
        (see :class:`ActivePartitions`); ``None`` (a client-only app) still means all.
        Faust's signature, keyword names included."""
        if active_partitions is not None:
            active_partitions = cast(set[TP], ActivePartitions(active_partitions))
        return await super()._getmany(active_partitions, timeout)

    async def _hand_over(self, route: BatchRoute, routed: list[Message]) -> None:
        """Run the handler to its end, or stop the worker loudly.

        A batch that fails leaves its reports unacknowledged; carrying on would let
        later batches be committed past them, so the worker crashes and its
        restart decides them again. A cancellation raised *inside* the handler
        (a cancelled send, say) is such a failure too: Faust's fetcher would
        otherwise take it for its own shutdown and stop fetching without a word.
        """
        try:
            await asyncio.shield(route.handle(routed))
        except asyncio.CancelledError as cancelled:
            if stopping():
                raise
            failure = RuntimeError("a report batch was cancelled from inside its handler")
            await self._crash_on(failure, cancelled)
            raise failure from cancelled
        except Exception as error:
            await self._crash_on(error, error)
            raise

    async def _crash_on(self, failure: BaseException, cause: BaseException) -> None:
        log.critical(
            "report_batch_failed",
            error=type(cause).__name__,
            detail=str(failure),
            exc_info=cause,
            action="the worker stops; restart it to decide the unacknowledged reports again",
        )
        await self.app.crash(failure)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets, and stream partitions nobody committed to their start.

        aiokafka's seek to committed offsets leaves a partition without a commit
        where its fetcher happens to be, and Faust's ``getmany`` drops records of a
        partition fetched in the moments of a rebalance when its flow is stopped,
        after the fetch that returned them had moved that position on. With a
        commit, the seek brings them back; without one they were lost: a worker
        whose predecessor died before its first commit decided nothing of what was
        waiting (seen in the kill -9 fault test on a loaded machine). Reading such
        a partition from its first offset is what ``auto_offset_reset=earliest``
        (the app's setting) promises; reports already in a broadcast's state are
        recognised by their offset and skipped as ``replayed``, and an on-call
        timeline yields no KPI fact twice. Table changelogs are left to table
        recovery, which positions them itself.
        """
        await super().perform_seek()
        changelogs = self.app.tables.changelog_topics
        uncommitted = [
            tp
            for tp in self.assignment()
            if tp.topic not in changelogs and not self._committed_offset.get(tp)
        ]
        if uncommitted:
            for tp, offset in (await self.earliest_offsets(*uncommitted)).items():
                await self.seek(tp, offset)

    async def _admit(self, tp: TP, message: Message) -> bool:
        offset = message.offset
        read = self._read_offset[tp]
        if read is not None and offset < read:
            return False
        if read and offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, read + 1, offset)
        self._read_offset[tp] = offset
        return True

    async def _commit_when_due(self) -> None:
        every = self._commit_every
        if every is not None and self._n_acked >= every:
            self._n_acked = 0
            await self.commit()


class BatchingTransport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`BatchingConsumer` as its consumer."""

    Consumer: ClassVar[type[ConsumerT]] = BatchingConsumer
