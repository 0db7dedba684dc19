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

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerting.admission import event_time_rejection
from alerting.engine import DetectionEngine
from alerting.state import BroadcastState
from models.bounds import DEFAULT_PRODUCER_MAX_REQUEST_BYTES
from models.dead_letter import DeadLetter, dead_letter_key, fitted_dead_letter
from models.decode import Rejection, decode_report
from models.escalation_v2 import EscalationV2
from models.report import Category, Platform
from streams.logs import get_logger
from streams.worker.metrics import Outcome, WorkerMetrics
from streams.worker.shadow import ShadowLane, marked
from streams.worker.state_cache import BroadcastStates, Touched

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
class StateChanges:
    """What a tick changed in one lane: states to write, idle broadcasts to drop."""

    changed: list[BroadcastState] = field(default_factory=list)
    idle: list[str] = field(default_factory=list)

    def apply(self, states: BroadcastStates) -> None:
        states.save(self.changed)
        for broadcast_id in self.idle:
            states.evict(broadcast_id)


@dataclass(slots=True)
class TickOutput:
    escalations: list[EscalationV2] = field(default_factory=list)
    open_incidents: int = 0
    shadow_escalations: list[EscalationV2] = field(default_factory=list)
    changes: StateChanges = field(default_factory=StateChanges)
    shadow_changes: StateChanges = field(default_factory=StateChanges)


@dataclass(slots=True)
class BatchOutput:
    """What a batch decided; ``touched`` is written by the caller once the escalations
    are acknowledged (:meth:`ReportPipeline.save`)."""

    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    reroutes: list[tuple[bytes, bytes]] = field(default_factory=list)
    escalations: list[EscalationV2] = field(default_factory=list)
    touched: Touched = field(default_factory=Touched)
    newest_event_time: float | None = None
    shadow_escalations: list[EscalationV2] = field(default_factory=list)


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
        self.dead_letter_record_limit = DEFAULT_PRODUCER_MAX_REQUEST_BYTES
        """What a dead letter may weigh; the worker sets the dead-letter topic's at start."""
        self.max_future_skew_seconds = max_future_skew_seconds
        self.live = live
        self.shadow = shadow
        self.next_offsets: dict[int, int] = {}
        self.stream_times: dict[int, float] = {}
        """Newest event time counted per input partition: the partition's clock while
        it catches up on a backlog (see :mod:`streams.worker.clocks`)."""

    def process(self, messages: Iterable[InputMessage]) -> BatchOutput:
        """Decide a batch, report by report; what can wait for the batch's end does.

        Outcomes are tallied under the enum members and turned into label values
        once per batch, and each partition's clock moves once per batch, to the
        newest event time the batch counted on it.
        """
        output = BatchOutput()
        touched, learning = output.touched.states, output.touched.learners
        tally: Counter[tuple[Category, Platform | None, Outcome]] = Counter()
        without_audience: Counter[Platform | None] = Counter()
        newest: dict[int, float] = {}
        states, engine, live = self.states, self.engine, self.live
        for message in messages:
            self.next_offsets[message.partition] = message.offset + 1
            now = time.time() if live else None
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
            if decoded.category is Category.OTHER and decoded.category_was_unknown:
                self.metrics.unknown_categories.inc()
            broadcast_id = decoded.broadcast_id
            broadcast_key = broadcast_id.encode()
            if message.key != broadcast_key:
                output.reroutes.append((broadcast_key, message.value or b""))
                tally[decoded.category, decoded.platform, Outcome.REROUTED] += 1
                continue
            state = states.get(broadcast_id)
            if state.input_offset is not None and message.offset <= state.input_offset:
                tally[decoded.category, decoded.platform, Outcome.REPLAYED] += 1
                continue
            partition = states.partition(broadcast_id)
            learning.add(partition)
            record_time = None if message.timestamp_ms is None else message.timestamp_ms / 1000
            observation = engine.observe(
                state,
                decoded,
                decided_at=now,
                learner=states.learner(partition),
                event_time=event_time,
                record_time=record_time,
            )
            if observation.clock is not None and record_time is not None:
                self.metrics.clock_corrections.labels(observation.clock.value).inc()
                event_time = record_time  # what the report counted at: the partition's clock too
            if self.shadow is not None:
                output.shadow_escalations.extend(self.shadow.observe(decoded, now, record_time))
            if observation.late:
                tally[decoded.category, decoded.platform, Outcome.LATE] += 1
                continue
            tally[decoded.category, decoded.platform, Outcome.ACCEPTED] += 1
            if state.viewers is None:
                without_audience[decoded.platform] += 1
            state.input_offset = message.offset
            touched[broadcast_id] = state
            partition_newest = newest.get(message.partition)
            if partition_newest is None or event_time > partition_newest:
                newest[message.partition] = event_time
            if observation.escalations:
                self._log_escalations(observation.escalations, broadcast_id, event_time)
                output.escalations.extend(observation.escalations)
        for partition, event_time in newest.items():
            self.stream_times[partition] = max(
                event_time, self.stream_times.get(partition, event_time)
            )
        output.newest_event_time = max(newest.values(), default=None)
        self.metrics.count_reports(
            {
                (category.value, platform.value if platform else None, outcome): count
                for (category, platform, outcome), count in tally.items()
            }
        )
        if without_audience:
            self.metrics.count_reports_without_audience(
                {
                    platform.value if platform else None: n
                    for platform, n in without_audience.items()
                }
            )
        return output

    def _log_escalations(
        self, escalations: list[EscalationV2], broadcast_id: str, event_time: float
    ) -> None:
        for escalation in escalations:
            self.metrics.observe_decision_latency(
                escalation.detected_at.timestamp() - event_time, broadcast_id
            )
            log.info(
                "escalation_decided",
                broadcast_id=broadcast_id,
                dedup_key=escalation.dedup_key,
                action=escalation.event_action.value,
                severity=escalation.severity.value,
                sequence=escalation.sequence,
            )

    def save(self, *outputs: BatchOutput) -> None:
        """Write the states and learners of one or more batches, once their escalations
        are acknowledged.

        A broadcast touched by several of the batches is encoded and written once.
        A crash before this leaves the table as it was, and the re-delivered batches
        are decided again from there: nothing is counted or learned twice.
        """
        for _ in self.saving(*outputs):
            pass

    def saving(self, *outputs: BatchOutput) -> Iterator[None]:
        """:meth:`save` a state per step, for a caller that spreads the write over time.

        Which states and learners are written is settled when this is called; each
        is encoded at its step, with whatever was decided by then (never anything
        whose escalations are not acknowledged: the caller steps only between batches).
        """
        touched = Touched()
        for output in outputs:
            touched.update(output.touched)
        lanes = [touched.writing(self.states)]
        if self.shadow is not None:
            lanes.append(self.shadow.saving())
        return itertools.chain.from_iterable(lanes)

    @property
    def stream_time(self) -> float | None:
        """Newest event time counted on any partition (replay keeps one pipeline per partition)."""
        return max(self.stream_times.values(), default=None)

    def tick(self, now: float | Mapping[int, float]) -> TickOutput:
        """Resolve quiet incidents and find idle broadcasts, without writing anything.

        ``now`` is one time (replay: the stream's event time) or each input
        partition's clock (live, see :mod:`streams.worker.clocks`). The caller sends the
        escalations, then calls :meth:`commit`: a state never records a resolve that
        Kafka has not acknowledged.
        """

        def clock(broadcast_id: str) -> float:
            if isinstance(now, int | float):
                return float(now)
            return now[self.states.partition(broadcast_id)]

        output = TickOutput()
        output.escalations, output.changes, output.open_incidents = tick_states(
            self.engine, self.states, clock
        )
        if self.shadow is not None:
            shadow, output.shadow_changes, _ = tick_states(
                self.shadow.engine, self.shadow.states, clock
            )
            output.shadow_escalations = marked(shadow)
        return output

    def commit(self, ticked: TickOutput) -> None:
        """Write what :meth:`tick` changed, once its escalations are acknowledged."""
        ticked.changes.apply(self.states)
        if self.shadow is not None:
            ticked.shadow_changes.apply(self.shadow.states)

    def settle(self, now: float) -> list[EscalationV2]:
        """Tick and commit at once: replay, where nothing is sent that could fail."""
        ticked = self.tick(now)
        self.commit(ticked)
        return ticked.escalations

    def _dead_letter(
        self, message: InputMessage, rejection: Rejection
    ) -> tuple[bytes | None, DeadLetter]:
        self.metrics.count_dead_letter(rejection.reason)
        return dead_letter_for(message, rejection, self.dead_letter_record_limit)


def dead_letter_for(
    message: InputMessage, rejection: Rejection, record_limit: int
) -> tuple[bytes | None, DeadLetter]:
    """The Kafka key and DeadLetter v1 of a refused message, sized to fit ``record_limit``
    (the dead-letter topic's): position, reason and as much of the original as fits; logged."""
    log.warning(
        "dead_lettered",
        reason=rejection.reason.value,
        detail=rejection.detail,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
    letter = fitted_dead_letter(
        reason=rejection.reason,
        detail=rejection.detail,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        source_timestamp_ms=message.timestamp_ms,
        payload=message.value or b"",
        failed_at=datetime.now(tz=UTC),
        record_limit=record_limit,
        key=message.key,
    )
    return dead_letter_key(message.key), letter


def tick_states(
    engine: DetectionEngine, states: BroadcastStates, clock: Callable[[str], float]
) -> tuple[list[EscalationV2], StateChanges, int]:
    """Tick every state at its partition's clock: resolves, changes to write, open incidents."""
    escalations: list[EscalationV2] = []
    changes = StateChanges()
    open_incidents = 0
    for state in states:
        result = engine.tick(state, clock(state.broadcast_id))
        escalations.extend(result.escalations)
        if result.evictable:
            changes.idle.append(state.broadcast_id)
        else:
            open_incidents += len(state.incidents) + len(state.coordination)
        if result.escalations:
            changes.changed.append(state)
    return escalations, changes, open_incidents
