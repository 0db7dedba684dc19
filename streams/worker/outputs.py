"""Writing the worker's records so that a permanent refusal of one record never stops it.

Why: before, any failed send failed the batch, and a failed batch stops the
worker, whose restart reads the same input and fails the same way (issue 14).
That is right for *retriable* failures (a leader moving, a timeout, a broker
restarting): the input stays unacknowledged and is decided again. It is wrong
for a broker that refuses one record *for good* (too large, not authorised
for the topic, no such topic, an invalid name): no retry can succeed. Such a
refusal is returned as a :class:`Refusal`, for the caller to keep what was
refused in a dead-letter topic and move on.

Every record is first sized against its topic's limit (:mod:`models.bounds`):
one that cannot fit is refused here without being sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import faust
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from models.bounds import fits, record_limit
from models.dead_letter import DeadLetterReason, dead_letter_key, fitted_dead_letter
from models.escalation import Escalation
from streams.logs import get_logger
from streams.worker.metrics import WorkerMetrics

log = get_logger("spikewatch.outputs")


class TopicKind(StrEnum):
    """What a written topic is for: the metric's label, a fixed set."""

    ONCALL = "oncall"
    SHADOW = "shadow"
    DEAD_LETTER = "dead_letter"
    ESCALATION_DEAD_LETTER = "escalation_dead_letter"
    INPUT = "input"


class RefusalReason(StrEnum):
    TOO_LARGE = "too_large"
    NOT_AUTHORIZED = "not_authorized"
    INVALID_TOPIC = "invalid_topic"
    UNKNOWN_TOPIC = "unknown_topic"
    POLICY_VIOLATION = "policy_violation"


PERMANENT_REFUSALS: dict[type[KafkaError], RefusalReason] = {
    MessageSizeTooLargeError: RefusalReason.TOO_LARGE,
    RecordListTooLargeError: RefusalReason.TOO_LARGE,
    RecordTooLargeError: RefusalReason.TOO_LARGE,
    TopicAuthorizationFailedError: RefusalReason.NOT_AUTHORIZED,
    InvalidTopicError: RefusalReason.INVALID_TOPIC,
    UnknownTopicOrPartitionError: RefusalReason.UNKNOWN_TOPIC,
    PolicyViolationError: RefusalReason.POLICY_VIOLATION,
}
"""Errors no retry can mend for this record. A missing topic counts: the worker creates its
topics at start, and aiokafka gives up on one only after waiting a whole request timeout."""


def refusal_reason(error: BaseException) -> RefusalReason | None:
    """The permanent refusal behind ``error`` (Faust wraps aiokafka's), or None when retrying
    may help."""
    cause: BaseException | None = error
    while cause is not None:
        for kind, reason in PERMANENT_REFUSALS.items():
            if isinstance(cause, kind):
                return reason
        cause = cause.__cause__
    return None


@dataclass(frozen=True, slots=True)
class Refusal:
    topic: str
    kind: TopicKind
    reason: RefusalReason
    detail: str

    @property
    def line(self) -> str:
        """One line for a dead letter's detail."""
        line = f"{self.kind.value} topic {self.topic} refused the record ({self.reason.value})"
        return f"{line}: {self.detail}"[:1000]


Written = Coroutine[Any, Any, Refusal | None]

UNKNOWN_POSITION = -1
"""``source_partition`` and ``source_offset`` of a dead letter whose record was an output."""


class OutputWriter:
    """Sends records through Faust's producer; a permanent refusal becomes a :class:`Refusal`.

    ``topic_limit`` gives a topic's ``max.message.bytes``; the record limit is the
    smaller of that and the producer's ``max_request_size``.
    """

    def __init__(
        self,
        metrics: WorkerMetrics,
        topic_limit: Callable[[str], int],
        producer_max_request_bytes: int,
        escalation_dead_letters: faust.TopicT,
    ) -> None:
        self.metrics = metrics
        self.topic_limit = topic_limit
        self.producer_max_request_bytes = producer_max_request_bytes
        self.escalation_dead_letters = escalation_dead_letters

    def limit(self, topic: str) -> int:
        return record_limit(self.topic_limit(topic), self.producer_max_request_bytes)

    async def send(
        self, topic: faust.TopicT, key: bytes | None, value: bytes, kind: TopicKind
    ) -> Written:
        """Hand one record to the producer; await the result for its fate.

        A retriable failure raises (from here or from the result), as before.
        """
        name = topic.get_topic_name()
        limit = self.limit(name)
        if not fits(limit, key, value):
            refused = self._refused(
                name, kind, RefusalReason.TOO_LARGE, f"{len(value)} bytes, limit {limit}"
            )
            return _already(refused)
        try:
            pending = await topic.send(key=key, value=value, force=True)
        except Exception as error:
            return _already(self._refused_or_raise(error, name, kind))
        return self._outcome(pending, name, kind)

    async def _outcome(
        self, pending: Awaitable[Any], topic: str, kind: TopicKind
    ) -> Refusal | None:
        try:
            await pending
        except Exception as error:
            return self._refused_or_raise(error, topic, kind)
        return None

    def _refused_or_raise(self, error: Exception, topic: str, kind: TopicKind) -> Refusal:
        reason = refusal_reason(error)
        if reason is None:
            raise error
        return self._refused(topic, kind, reason, f"{type(error).__name__}: {error}")

    def _refused(self, topic: str, kind: TopicKind, reason: RefusalReason, detail: str) -> Refusal:
        self.metrics.output_refused.labels(kind.value, reason.value).inc()
        log.error("output_refused", topic=topic, topic_kind=kind.value, reason=reason.value)
        return Refusal(topic, kind, reason, " ".join(detail.split()))

    async def dead_letters(
        self, letters: list[tuple[bytes | None, bytes]], topic: faust.TopicT
    ) -> list[Awaitable[None]]:
        """Dead letters are sized to fit: one refused all the same (the topic not writable)
        has nowhere left to go, and is counted and logged."""
        return [
            _logged(await self.send(topic, key, value, TopicKind.DEAD_LETTER))
            for key, value in letters
        ]

    async def reroutes(
        self,
        reroutes: list[tuple[bytes, bytes]],
        home: faust.TopicT,
        dead_letter_topic: faust.TopicT,
    ) -> list[Awaitable[None]]:
        """Messages re-published with the right key; a refused one is dead-lettered."""
        pending: list[Awaitable[None]] = []
        for key, value in reroutes:
            written = await self.send(home, key, value, TopicKind.INPUT)
            pending.append(
                self._or_dead_letter(written, key, value, dead_letter_topic, TopicKind.DEAD_LETTER)
            )
        return pending

    async def escalations(
        self, escalations: list[tuple[faust.TopicT, Escalation]], kind: TopicKind
    ) -> list[Awaitable[None]]:
        """Escalations to their topics; a refused one goes to the escalation dead-letter topic,
        which pages through the platform's alert on ``spikewatch_output_refused_total``."""
        pending: list[Awaitable[None]] = []
        for topic, escalation in escalations:
            key, value = escalation.dedup_key.encode(), escalation.to_json_bytes()
            written = await self.send(topic, key, value, kind)
            pending.append(
                self._or_dead_letter(
                    written,
                    key,
                    value,
                    self.escalation_dead_letters,
                    TopicKind.ESCALATION_DEAD_LETTER,
                )
            )
        return pending

    async def _or_dead_letter(
        self,
        written: Written,
        key: bytes,
        value: bytes,
        dead_letter_topic: faust.TopicT,
        dead_letter_kind: TopicKind,
    ) -> None:
        """``key`` is a broadcast id (a report) or a ``dedup_key`` (an escalation)."""
        refusal = await written
        if refusal is None:
            return
        log.error(
            "output_dead_lettered",
            key=key.decode(errors="replace"),
            refused_by=refusal.topic,
            reason=refusal.reason.value,
            dead_letter_topic=dead_letter_topic.get_topic_name(),
        )
        name = dead_letter_topic.get_topic_name()
        letter = fitted_dead_letter(
            reason=DeadLetterReason.OUTPUT_REFUSED,
            detail=refusal.line,
            source_topic=refusal.topic,
            source_partition=UNKNOWN_POSITION,
            source_offset=UNKNOWN_POSITION,
            source_timestamp_ms=None,
            payload=value,
            failed_at=datetime.now(tz=UTC),
            record_limit=self.limit(name),
            key=key,
        )
        await _logged(
            await self.send(
                dead_letter_topic, dead_letter_key(key), letter.to_json_bytes(), dead_letter_kind
            )
        )


async def _already(refusal: Refusal | None) -> Refusal | None:
    return refusal


async def _logged(written: Written) -> None:
    refusal = await written
    if refusal is not None:
        log.critical(
            "dead_letter_refused",
            topic=refusal.topic,
            reason=refusal.reason.value,
            action="the record is lost; make the topic writable and check its max.message.bytes",
        )
