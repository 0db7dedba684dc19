"""Read escalations, acknowledgements and verdicts; fold them into the store; tell the pages.

One consumer in the console's own group (``<app_id>-console``) subscribes by
pattern to every on-call topic plus the acknowledgement and verdict topics, so
a team's topic created later is picked up within a second. Per fetched batch:
fold each event, wait for the store's records to be acknowledged, commit the
offsets, then wake the pages' event streams.

Unreadable input is never dropped silently: a bad verdict goes to the verdict
topic's dead letters (the console is that topic's reader of record); a bad
escalation or acknowledgement is counted and logged only, because the worker
already dead-letters the acknowledgements it refuses and writes the escalations.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from structlog import get_logger

from models.decode import Rejection, decode_acknowledgement, decode_escalation, decode_verdict
from models.escalation import Severity
from oncall.console.incidents import (
    IncidentRecord,
    fold_acknowledgement,
    fold_escalation,
    fold_verdict,
)
from oncall.console.views import confirmed_shares, forgettable
from streams.console.metrics import ConsoleMetrics, Source
from streams.console.store import IncidentStore
from streams.settings import Settings
from streams.worker.pipeline import InputMessage, dead_letter_for

log = get_logger("spikewatch.console.feed")

SHARE_HORIZON = timedelta(days=1)


class Changes:
    """Wakes every waiting page stream when the incidents changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        """The console is stopping: every stream ends after its current wait."""
        self.closed = True
        self.announce()

    def announce(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, at_most: float) -> None:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), at_most)
        except TimeoutError:
            return


class ConsoleFeed:
    def __init__(
        self,
        settings: Settings,
        store: IncidentStore,
        producer: AIOKafkaProducer,
        metrics: ConsoleMetrics,
        changes: Changes,
        options: dict[str, Any],
    ) -> None:
        self.settings = settings
        self.store = store
        self.producer = producer
        self.metrics = metrics
        self.changes = changes
        self.options = options
        self.ready = asyncio.Event()
        """Set once the consumer has its partitions: the pages are then live."""

    def pattern(self) -> str:
        settings = self.settings
        names = "|".join(re.escape(name) for name in (settings.ack_topic, settings.verdict_topic))
        return f"^(?:{re.escape(settings.oncall_topic_prefix)}.*|{names})$"

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=f"{self.settings.app_id}-console",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=1000,
            **self.options,
        )
        consumer.subscribe(pattern=self.pattern())
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                if consumer.assignment():
                    self.ready.set()
                changed = False
                for messages in batches.values():
                    for message in messages:
                        changed |= await self.apply(
                            InputMessage(
                                topic=message.topic,
                                partition=message.partition,
                                offset=message.offset,
                                key=message.key,
                                value=message.value,
                                timestamp_ms=message.timestamp,
                            )
                        )
                if batches:
                    await self.store.flush()
                    await consumer.commit()
                if changed:
                    self.refresh_gauges(datetime.now(tz=UTC))
                    self.changes.announce()
        finally:
            await consumer.stop()

    async def apply(self, message: InputMessage) -> bool:
        """Fold one message into its incident; True when an incident changed."""
        limit = self.settings.max_message_bytes
        if message.topic == self.settings.ack_topic:
            ack = decode_acknowledgement(message.value, limit)
            if isinstance(ack, Rejection):
                return self._rejected(Source.ACKNOWLEDGEMENT, message, ack)
            record = fold_acknowledgement(self.store.get(ack.dedup_key), ack)
            return await self._store(Source.ACKNOWLEDGEMENT, record)
        if message.topic == self.settings.verdict_topic:
            verdict = decode_verdict(message.value, limit)
            if isinstance(verdict, Rejection):
                await self._dead_letter(message, verdict)
                return self._rejected(Source.VERDICT, message, verdict)
            before = self.store.get(verdict.dedup_key)
            already = before is not None and before.verdict == verdict
            record = fold_verdict(before, verdict)
            if not already and record.paged and record.category is not None:
                self.metrics.count_page_verdict(record.team, record.category, verdict.verdict)
            log.info(
                "verdict_recorded",
                dedup_key=verdict.dedup_key,
                verdict=verdict.verdict.value,
                actor=verdict.actor,
            )
            return await self._store(Source.VERDICT, record)
        escalation = decode_escalation(message.value, limit)
        if isinstance(escalation, Rejection):
            return self._rejected(Source.ESCALATION, message, escalation)
        if escalation.shadow:
            return False
        record = fold_escalation(self.store.get(escalation.dedup_key), escalation)
        return await self._store(Source.ESCALATION, record)

    async def _store(self, source: Source, record: IncidentRecord) -> bool:
        self.metrics.events.labels(source.value).inc()
        await self.store.put(record)
        return True

    def _rejected(self, source: Source, message: InputMessage, rejection: Rejection) -> bool:
        self.metrics.rejected.labels(source.value, rejection.reason.value).inc()
        log.warning(
            "console_input_rejected",
            source=source.value,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=rejection.reason.value,
            detail=rejection.detail,
        )
        return False

    async def _dead_letter(self, message: InputMessage, rejection: Rejection) -> None:
        """Sized to the producer's limit, so an oversized verdict cannot block the feed."""
        key, letter = dead_letter_for(message, rejection, self.settings.producer_max_request_bytes)
        await self.producer.send_and_wait(
            self.settings.resolved_verdict_dead_letter_topic, letter.to_json_bytes(), key=key
        )

    def refresh_gauges(self, now: datetime) -> None:
        records = list(self.store)
        open_by_severity = dict.fromkeys(Severity, 0)
        for record in records:
            if record.is_open:
                open_by_severity[record.severity] += 1
        self.metrics.show(open_by_severity, confirmed_shares(records, now, SHARE_HORIZON))

    async def sweep_forever(self, every: float = 60.0) -> None:
        """Forget incidents resolved longer ago than the history keeps; refresh the gauges."""
        keep = timedelta(days=self.settings.console_history_days)
        while True:
            now = datetime.now(tz=UTC)
            for record in list(self.store):
                if forgettable(record, now, keep):
                    await self.store.forget(record.dedup_key)
            await self.store.flush()
            self.refresh_gauges(now)
            await asyncio.sleep(every)
