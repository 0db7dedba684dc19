"""One sink's consumer group: escalations in, requests out, offsets committed after a 2xx.

Each sink has its own group (``spikewatch-notify-<sink>``), so a sink that is
down stalls only its own offsets while the others go on.

Order and re-delivery. An incident's events share a partition; a partition's
records go out in waves of distinct incidents (partitions side by side), each
wave's offsets committed before the next wave starts, so there are never two
delivered events of one incident behind the committed offset. After a crash (kill -9 included) the
records re-read are therefore at most the *latest* delivered event of each
incident, re-sent as they were (harmless: every sink keys on ``dedup_key``),
never an older event after a newer one (a trigger after its resolve would page
again).

A new group starts from the escalations written shortly before the service
started (``SPIKEWATCH_NOTIFY_NEW_GROUP_LOOKBACK_SECONDS``), not from the topics'
beginning (that would page history) nor their end (that would miss an on-call
topic created after the start). A committed offset that retention has passed
resumes at the oldest record kept: those were never delivered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from models.delivery_failure import MAX_ANSWER_LENGTH, DeliveryFailure, FailureReason
from models.escalation_v2 import EscalationV2, parse_escalation
from oncall.delivery.config import NotifyConfig
from oncall.delivery.ordering import SequenceGuard
from oncall.delivery.requests import RequestBuilder
from oncall.delivery.routing import AnySink, Skip, skip_reason
from oncall.delivery.templates import TemplateRenderError
from streams.kafka.clients import offsets_since
from streams.kafka.security import client_options
from streams.notify.client import SinkClient
from streams.notify.metrics import DEAD_LETTERED, DELIVERED, NotifyMetrics
from streams.settings import Settings

log = structlog.get_logger("spikewatch.notify")
MAX_POLL_INTERVAL_MS = 6 * 3600 * 1000
"""A sink may be down for hours while its consumer waits; that is not a dead consumer."""
PLACE_RETRY_SECONDS = 1.0
"""How long a rebalance waits before asking the broker again where new partitions start."""


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """New partitions start near the service's start; open alerts of lost ones are dropped."""

    def __init__(self, consumer: AIOKafkaConsumer, start_ms: int, builder: RequestBuilder) -> None:
        self.consumer = consumer
        self.start_ms = start_ms
        self.builder = builder

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Place the partitions this group never committed on, all of them paused meanwhile.

        Until it is placed, the fetcher resets such a partition to its earliest record
        (``auto_offset_reset``), and a batch fetched then would deliver the topic's
        history: incidents long resolved paged again. aiokafka logs a listener's
        exception and goes on with that reset, so a broker that does not answer is
        waited out here, the partitions still paused.
        """
        if self.builder.open_alerts is not None:
            self.builder.open_alerts.keep_only({(tp.topic, tp.partition) for tp in assigned})
        self.consumer.pause(*assigned)
        while True:
            try:
                await self._place_uncommitted(assigned)
            except KafkaError as error:
                log.warning("placing new partitions failed; retrying", error=type(error).__name__)
                await asyncio.sleep(PLACE_RETRY_SECONDS)
            else:
                break
        self.consumer.resume(*assigned)

    async def _place_uncommitted(self, assigned: list[TopicPartition]) -> None:
        fresh = [tp for tp in assigned if await self.consumer.committed(tp) is None]
        if not fresh:
            return
        for tp, offset in (await offsets_since(self.consumer, fresh, self.start_ms)).items():
            self.consumer.seek(tp, offset)


class SinkWorker:
    def __init__(
        self,
        sink: AnySink,
        config: NotifyConfig,
        settings: Settings,
        client: SinkClient,
        producer: AIOKafkaProducer,
        metrics: NotifyMetrics,
        start_ms: int,
    ) -> None:
        self.sink = sink
        self.settings = settings
        self.client = client
        self.producer = producer
        self.metrics = metrics
        self.start_ms = start_ms
        self.builder = RequestBuilder(sink, config)
        self.guard = SequenceGuard()
        self.group = f"spikewatch-notify-{sink.name}"
        self._commit_lock = asyncio.Lock()

    async def run(self, stopping: asyncio.Event) -> None:
        settings = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=2000,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            session_timeout_ms=int(settings.kafka_session_timeout_seconds * 1000),
            **client_options(settings),
        )
        consumer.subscribe(
            pattern=f"^{re.escape(settings.oncall_topic_prefix)}.*",
            listener=RebalanceListener(consumer, self.start_ms, self.builder),
        )
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()  # a client that failed to start still holds its connections
            raise
        reposting = asyncio.create_task(self._repost_forever())
        log.info("sink consumer started", sink=self.sink.name, group=self.group)
        try:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                await asyncio.gather(
                    *(self._partition(consumer, tp, records) for tp, records in batches.items())
                )
        finally:
            reposting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reposting
            await consumer.stop()

    async def _partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> None:
        """Deliver a partition's records in waves of distinct incidents, committing after each.

        A wave holds at most one event per incident (and ``max_in_flight``
        events), delivered side by side; the next event of an incident in the
        wave starts the next wave, after the offset before it is committed. A
        partition lost meanwhile is left alone: its new owner re-reads it from the
        last commit, and delivering on here could overtake it.
        """
        wave: list[tuple[ConsumerRecord, EscalationV2]] = []
        for record in records:
            escalation = await self._admit(record)
            if escalation is None:
                continue
            full = len(wave) >= self.sink.max_in_flight
            if full or any(queued.dedup_key == escalation.dedup_key for _, queued in wave):
                await self._deliver_wave(wave)
                if not await self._commit(consumer, tp, record.offset):
                    return
                wave = []
            if self.guard.is_stale(escalation.dedup_key, escalation.sequence):
                self.metrics.count(self.sink.name, escalation.labels.team, Skip.STALE.value)
                continue
            wave.append((record, escalation))
        await self._deliver_wave(wave)
        if records:
            await self._commit(consumer, tp, records[-1].offset + 1)

    async def _deliver_wave(self, wave: list[tuple[ConsumerRecord, EscalationV2]]) -> None:
        await asyncio.gather(
            *(self._deliver_one(record, escalation) for record, escalation in wave)
        )

    async def _deliver_one(self, record: ConsumerRecord, escalation: EscalationV2) -> None:
        with structlog.contextvars.bound_contextvars(
            dedup_key=escalation.dedup_key, broadcast_id=escalation.labels.broadcast_id
        ):
            await self._deliver(record, escalation)
        self.guard.delivered(escalation.dedup_key, escalation.sequence)

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> bool:
        """True once committed; False when the partition is no longer this process's.

        A commit that fails for a passing reason (coordinator moving, timeout) is
        retried: going on with the next wave uncommitted could leave two events of
        one incident behind the committed offset.
        """
        attempt = 0
        while True:
            try:
                async with self._commit_lock:
                    await consumer.commit({tp: offset})
            except (CommitFailedError, IllegalStateError):
                log.warning(
                    "partition lost to a rebalance; its new owner goes on", sink=self.sink.name
                )
                return False
            except KafkaError as error:
                attempt += 1
                log.warning(
                    "offset commit failed; retrying",
                    sink=self.sink.name,
                    error=type(error).__name__,
                )
                await asyncio.sleep(min(5.0, 0.1 * 2**attempt))
            else:
                return True

    async def _admit(self, record: ConsumerRecord) -> EscalationV2 | None:
        """The escalation if this sink delivers it; otherwise counted (or dead-lettered) here.

        Staleness is judged later, when the incident's earlier events in the batch are out.
        """
        value: bytes | None = record.value
        try:
            if value is None:
                raise ValueError("empty record (tombstone)")
            escalation = parse_escalation(value)
        except (ValidationError, ValueError) as error:
            detail = str(error).splitlines()[0]
            await self._dead_letter(record, FailureReason.INVALID_ESCALATION, None, detail, None)
            return None
        skip = skip_reason(self.sink, escalation)
        if skip is not None:
            self.metrics.count(self.sink.name, escalation.labels.team, skip.value)
            return None
        return escalation

    async def _deliver(self, record: ConsumerRecord, escalation: EscalationV2) -> None:
        name, team = self.sink.name, escalation.labels.team
        try:
            origin = (record.topic, record.partition)
            requests = self.builder.requests_for(escalation, datetime.now(UTC), origin)
        except TemplateRenderError as error:
            await self._dead_letter(
                record, FailureReason.TEMPLATE_ERROR, None, str(error), escalation
            )
            return
        for request in requests:
            refusal = await self.client.send(request)
            if refusal is not None:
                await self._dead_letter(
                    record, FailureReason.REFUSED, refusal.status, refusal.answer, escalation
                )
                return
        latency = (datetime.now(UTC) - escalation.detected_at).total_seconds()
        self.metrics.latency.labels(name).observe(max(0.0, latency))
        self.metrics.count(name, team, DELIVERED)
        log.info(
            "delivered",
            sink=name,
            action=escalation.event_action.value,
            sequence=escalation.sequence,
            latency_seconds=round(latency, 3),
        )

    async def _dead_letter(
        self,
        record: ConsumerRecord,
        reason: FailureReason,
        status: int | None,
        answer: str,
        escalation: EscalationV2 | None,
    ) -> None:
        value: bytes = record.value or b""
        failure = DeliveryFailure(
            sink=self.sink.name,
            reason=reason,
            status=status,
            answer=answer[:MAX_ANSWER_LENGTH],
            dedup_key=escalation.dedup_key if escalation else None,
            sequence=escalation.sequence if escalation else None,
            team=escalation.labels.team if escalation else None,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            payload_base64=base64.b64encode(value).decode(),
            failed_at=datetime.now(UTC),
        )
        await self.producer.send_and_wait(
            self.settings.notify_dead_letter_topic,
            failure.model_dump_json().encode(),
            key=escalation.dedup_key.encode() if escalation else None,
        )
        self.metrics.dead_letters.labels(self.sink.name, reason.value).inc()
        self.metrics.count(
            self.sink.name, escalation.labels.team if escalation else None, DEAD_LETTERED
        )
        log.warning(
            "escalation dead-lettered", sink=self.sink.name, reason=reason.value, status=status
        )

    async def _repost_forever(self) -> None:
        interval = getattr(self.sink, "repost_interval_seconds", None)
        if interval is None:
            return
        while True:
            await asyncio.sleep(interval)
            for request in self.builder.reposts(datetime.now(UTC)):
                refusal = await self.client.send(request)
                if refusal is not None:
                    log.warning("alert re-post refused", sink=self.sink.name, status=refusal.status)
            self.metrics.reposts.labels(self.sink.name).inc(len(self.builder.open_alerts or ()))
