"""One batch of input messages through decoding, routing and the decision core.

Kept free of Faust so that the live agent and ``spikewatch replay`` share it:
the caller supplies plain :class:`InputMessage` values and performs the sends
listed in the returned :class:`BatchOutput`.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
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
from streams.metrics import Outcome, ReportKind, WorkerMetrics
from streams.shadow import ShadowLane, marked

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
class TickOutput:
    escalations: list[Escalation] = field(default_factory=list)
    open_incidents: int = 0
    shadow_escalations: list[Escalation] = field(default_factory=list)


@dataclass(slots=True)
class BatchOutput:
    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    reroutes: list[tuple[bytes, bytes]] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    newest_event_time: float | None = None
    shadow_escalations: list[Escalation] = field(default_factory=list)


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
        shadow: ShadowLane | None = None,
    ) -> None:
        self.engine = engine
        self.states = states
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes
        self.max_future_skew_seconds = max_future_skew_seconds
        self.live = live
        self.shadow = shadow
        self.next_offsets: dict[int, int] = {}
        self.stream_time: float | None = None

    def process(self, messages: Iterable[InputMessage]) -> BatchOutput:
        output = BatchOutput()
        touched: dict[str, BroadcastState] = {}
        tally: Counter[ReportKind] = Counter()
        learning: set[int] = set()
        for message in messages:
            self.next_offsets[message.partition] = message.offset + 1
            now = time.time() if self.live else None
            decoded = decode_report(message.value, self.max_message_bytes)
            if isinstance(decoded, Rejection):
                output.dead_letters.append(self._dead_letter(message, decoded))
                continue
            event_time = decoded.event_time
            if now is not None:
                too_far = event_time_rejection(event_time, now, self.max_future_skew_seconds)
                if too_far is not None:
                    output.dead_letters.append(self._dead_letter(message, too_far))
                    continue
            platform = decoded.platform.value if decoded.platform else None
            if decoded.category_was_unknown:
                self.metrics.unknown_categories.inc()
            broadcast_key = decoded.broadcast_id.encode()
            if message.key != broadcast_key:
                output.reroutes.append((broadcast_key, message.value or b""))
                tally[decoded.category.value, platform, Outcome.REROUTED] += 1
                continue
            state = self.states.get(decoded.broadcast_id)
            partition = self.states.partition(decoded.broadcast_id)
            learning.add(partition)
            observation = self.engine.observe(
                state, decoded, decided_at=now, learner=self.states.learner(partition)
            )
            if self.shadow is not None:
                output.shadow_escalations.extend(self.shadow.observe(decoded, now))
            if observation.late:
                tally[decoded.category.value, platform, Outcome.LATE] += 1
                continue
            tally[decoded.category.value, platform, Outcome.ACCEPTED] += 1
            touched[decoded.broadcast_id] = state
            if output.newest_event_time is None or event_time > output.newest_event_time:
                output.newest_event_time = event_time
            for escalation in observation.escalations:
                self.metrics.observe_decision_latency(
                    escalation.detected_at.timestamp() - event_time, decoded.broadcast_id
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
        self.states.save(touched.values())
        self.metrics.count_reports(tally)
        self.states.save_learners(learning)
        if self.shadow is not None:
            self.shadow.save()
        if output.newest_event_time is not None and (
            self.stream_time is None or output.newest_event_time > self.stream_time
        ):
            self.stream_time = output.newest_event_time
        return output

    def tick(self, now: float) -> TickOutput:
        """Resolve quiet incidents and drop idle broadcasts, at ``now``.

        The live timer passes its resolve clock; replay passes the stream's event
        time. Both run this same loop.
        """
        output = TickOutput()
        output.open_incidents = tick_states(self.engine, self.states, now, output.escalations)
        if self.shadow is not None:
            shadow: list[Escalation] = []
            tick_states(self.shadow.engine, self.shadow.states, now, shadow)
            output.shadow_escalations = marked(shadow)
        return output

    def _dead_letter(
        self, message: InputMessage, rejection: Rejection
    ) -> tuple[bytes | None, DeadLetter]:
        self.metrics.count_dead_letter(rejection.reason)
        return message.key, dead_letter_for(message, rejection)


def dead_letter_for(message: InputMessage, rejection: Rejection) -> DeadLetter:
    """The DeadLetter v1 of a refused message: original bytes, position and reason, logged."""
    payload = message.value or b""
    log.warning(
        "dead_lettered",
        reason=rejection.reason.value,
        detail=rejection.detail,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
    return DeadLetter(
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


def tick_states(
    engine: DetectionEngine, states: BroadcastStates, now: float, sent: list[Escalation]
) -> int:
    """Tick every state: collect resolves into ``sent``, evict idle ones; count open incidents."""
    open_incidents = 0
    for state in states:
        result = engine.tick(state, now)
        sent.extend(result.escalations)
        if result.evictable:
            states.evict(state.broadcast_id)
        else:
            open_incidents += len(state.incidents) + len(state.coordination)
            if result.escalations:
                states.save([state])
    return open_incidents
