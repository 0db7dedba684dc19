"""One batch of input messages through decoding, routing and the decision core.

Kept free of Faust so that the live agent and ``spikewatch replay`` share it:
the caller supplies plain :class:`InputMessage` values, performs the sends
listed in the returned :class:`BatchOutput`, and only then saves its ``states``.

That order is what makes a crash safe (see the README's "Guarantees"): a state
that reaches the changelog always comes after the escalations it decided, and it
carries the offset of the last report counted into it, so reports re-delivered
after a crash are recognised (outcome ``replayed``) instead of counted twice.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerting.admission import event_time_rejection
from alerting.engine import DetectionEngine
from alerting.state import BroadcastState
from models.dead_letter import DeadLetter
from models.decode import Rejection, decode_report
from models.escalation import Escalation
from streams.broadcasts import BroadcastStates
from streams.logs import get_logger
from streams.metrics import Outcome, WorkerMetrics

log = get_logger("spikewatch.pipeline")


@dataclass(frozen=True, slots=True)
class InputMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


@dataclass(slots=True)
class BatchOutput:
    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    reroutes: list[tuple[bytes, bytes]] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    states: list[BroadcastState] = field(default_factory=list)
    newest_event_time: float | None = None


class ReportPipeline:
    """Decode, admit, route and decide; the caller does the I/O.

    ``live`` stamps decisions with the wall clock and refuses event times too far
    in the future; replay (``live=False``) uses event time for both.
    """

    def __init__(
        self,
        engine: DetectionEngine,
        states: BroadcastStates,
        metrics: WorkerMetrics,
        *,
        max_message_bytes: int,
        max_future_skew_seconds: float,
        live: bool = True,
    ) -> None:
        self.engine = engine
        self.states = states
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes
        self.max_future_skew_seconds = max_future_skew_seconds
        self.live = live
        self.next_offsets: dict[int, int] = {}
        self.stream_times: dict[int, float] = {}
        """Newest event time counted per input partition: the partition's clock while
        it catches up on a backlog (see :mod:`streams.clocks`)."""

    def process(self, messages: Iterable[InputMessage]) -> BatchOutput:
        output = BatchOutput()
        touched: dict[str, BroadcastState] = {}
        for message in messages:
            self.next_offsets[message.partition] = message.offset + 1
            now = time.time() if self.live else None
            decoded = decode_report(message.value, self.max_message_bytes)
            if isinstance(decoded, Rejection):
                output.dead_letters.append(self._dead_letter(message, decoded))
                continue
            if now is not None:
                too_far = event_time_rejection(
                    decoded.event_time, now, self.max_future_skew_seconds
                )
                if too_far is not None:
                    output.dead_letters.append(self._dead_letter(message, too_far))
                    continue
            platform = decoded.platform.value if decoded.platform else None
            if decoded.category_was_unknown:
                self.metrics.unknown_categories.inc()
            broadcast_key = decoded.broadcast_id.encode()
            if message.key != broadcast_key:
                output.reroutes.append((broadcast_key, message.value or b""))
                self.metrics.count_report(decoded.category.value, platform, Outcome.REROUTED)
                continue
            state = self.states.get(decoded.broadcast_id)
            if state.input_offset is not None and message.offset <= state.input_offset:
                self.metrics.count_report(decoded.category.value, platform, Outcome.REPLAYED)
                continue
            observation = self.engine.observe(state, decoded, decided_at=now)
            if observation.late:
                self.metrics.count_report(decoded.category.value, platform, Outcome.LATE)
                continue
            self.metrics.count_report(decoded.category.value, platform, Outcome.ACCEPTED)
            state.input_offset = message.offset
            touched[decoded.broadcast_id] = state
            if output.newest_event_time is None or decoded.event_time > output.newest_event_time:
                output.newest_event_time = decoded.event_time
            self.stream_times[message.partition] = max(
                decoded.event_time, self.stream_times.get(message.partition, decoded.event_time)
            )
            for escalation in observation.escalations:
                self.metrics.observe_decision_latency(
                    escalation.detected_at.timestamp() - decoded.event_time, decoded.broadcast_id
                )
                log.info(
                    "escalation_decided",
                    broadcast_id=decoded.broadcast_id,
                    dedup_key=escalation.dedup_key,
                    action=escalation.event_action.value,
                    severity=escalation.severity.value,
                    sequence=escalation.sequence,
                )
            output.escalations.extend(observation.escalations)
        output.states.extend(touched.values())
        return output

    def _dead_letter(
        self, message: InputMessage, rejection: Rejection
    ) -> tuple[bytes | None, DeadLetter]:
        self.metrics.count_dead_letter(rejection.reason)
        payload = message.value or b""
        log.warning(
            "dead_lettered",
            reason=rejection.reason.value,
            detail=rejection.detail,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )
        letter = DeadLetter(
            reason=rejection.reason,
            detail=rejection.detail,
            source_topic=message.topic,
            source_partition=message.partition,
            source_offset=message.offset,
            source_timestamp_ms=message.timestamp_ms,
            payload_base64=base64.b64encode(payload).decode(),
            payload_size=len(payload),
            failed_at=datetime.now(tz=UTC),
        )
        return message.key, letter
