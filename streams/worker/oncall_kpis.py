"""On-call KPIs: our escalations read back plus the tools' acknowledgements, per incident.

Kept free of Faust like :mod:`streams.worker.pipeline`: the app feeds plain
:class:`~streams.worker.pipeline.InputMessage` values and performs the sends listed in
the returned :class:`KpiOutput`.

Why read our own escalations back instead of noting triggers where they are
produced: escalations and acknowledgements are both keyed by ``dedup_key``, so
with equal partition counts partition *p* of every on-call topic, of the
acknowledgement topic and of the timeline table's changelog hold the same
incidents, and Faust assigns them together to one worker. Each incident's
timeline therefore lives with the worker that sees all of its events, survives a
restart through the changelog, and the detection state stays untouched. An
acknowledgement a tool put on another partition (a different partitioner) or
without the key is re-published keyed by its ``dedup_key`` first, as reports are.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from alerting.policy import OncallPolicy
from models.bounds import DEFAULT_PRODUCER_MAX_REQUEST_BYTES
from models.dead_letter import DeadLetter
from models.decode import Rejection, decode_acknowledgement, decode_escalation
from models.escalation import Severity
from oncall.timelines import (
    IncidentTimeline,
    KpiFacts,
    awaiting_acknowledgement,
    check_sla,
    forgettable,
    on_acknowledgement,
    on_escalation,
)
from streams.worker.metrics import WorkerMetrics
from streams.worker.oncall_metrics import AckOutcome
from streams.worker.pipeline import InputMessage, dead_letter_for


@dataclass(slots=True)
class KpiOutput:
    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    reroutes: list[tuple[bytes, bytes]] = field(default_factory=list)


class OncallKpiRecorder:
    """``partition_of`` maps a ``dedup_key`` to its partition (the producer's hash)."""

    def __init__(
        self,
        table: MutableMapping[bytes, bytes],
        policy: OncallPolicy,
        metrics: WorkerMetrics,
        *,
        ack_topic: str,
        partition_of: Callable[[bytes], int],
        max_message_bytes: int,
    ) -> None:
        self.table = table
        self.policy = policy
        self.metrics = metrics
        self.ack_topic = ack_topic
        self.partition_of = partition_of
        self.max_message_bytes = max_message_bytes
        self.dead_letter_record_limit = DEFAULT_PRODUCER_MAX_REQUEST_BYTES
        """What a dead letter may weigh; the worker sets the dead-letter topic's at start."""

    def process(self, message: InputMessage, now: float) -> KpiOutput:
        output = KpiOutput()
        if message.topic == self.ack_topic:
            self._acknowledgement(message, now, output)
        else:
            self._escalation(message, now, output)
        return output

    def _acknowledgement(self, message: InputMessage, now: float, output: KpiOutput) -> None:
        ack = decode_acknowledgement(message.value, self.max_message_bytes)
        if isinstance(ack, Rejection):
            self._dead_letter(message, ack, output)
            return
        key = ack.dedup_key.encode()
        if message.key != key or message.partition != self.partition_of(key):
            output.reroutes.append((key, message.value or b""))
            self.metrics.oncall.count_acknowledgement(ack.action, ack.actor, AckOutcome.REROUTED)
            return
        timeline = self._timeline(key, now)
        facts = on_acknowledgement(timeline, ack)
        outcome = AckOutcome.UNKNOWN_INCIDENT if facts.unknown_incident else AckOutcome.MATCHED
        self.metrics.oncall.count_acknowledgement(ack.action, ack.actor, outcome)
        self._record(timeline, facts, now)
        self.table[key] = timeline.to_bytes()

    def _escalation(self, message: InputMessage, now: float, output: KpiOutput) -> None:
        escalation = decode_escalation(message.value, self.max_message_bytes)
        if isinstance(escalation, Rejection):
            self._dead_letter(message, escalation, output)
            return
        if escalation.shadow:
            return  # a shadow policy's opinion pages nobody, so it is no on-call work
        key = escalation.dedup_key.encode()
        timeline = self._timeline(key, now)
        self._record(timeline, on_escalation(timeline, escalation), now)
        self.table[key] = timeline.to_bytes()

    def sweep(self, now: float, owned_partitions: set[int]) -> None:
        """Count SLAs that ran out, refresh the awaiting gauge, forget old timelines."""
        awaiting = dict.fromkeys(Severity, 0)
        for key, value in list(self.table.items()):
            if self.partition_of(key) not in owned_partitions:
                continue
            timeline = IncidentTimeline.from_bytes(value)
            if forgettable(timeline, now, self.policy):
                del self.table[key]
                continue
            if check_sla(timeline, now, self.policy):
                self.metrics.oncall.count_sla_breach(timeline.team, timeline.severity)
                self.table[key] = timeline.to_bytes()
            if awaiting_acknowledgement(timeline) and timeline.severity is not None:
                awaiting[timeline.severity] += 1
        for severity, count in awaiting.items():
            self.metrics.oncall.awaiting_acknowledgement.labels(severity.value).set(count)

    def _timeline(self, key: bytes, now: float) -> IncidentTimeline:
        stored = self.table.get(key)
        if stored:
            return IncidentTimeline.from_bytes(stored)
        return IncidentTimeline(dedup_key=key.decode(), first_seen_at=now)

    def _record(self, timeline: IncidentTimeline, facts: KpiFacts, now: float) -> None:
        self.metrics.oncall.record_kpis(
            facts, timeline.team, timeline.severity, timeline.broadcast_id
        )
        if check_sla(timeline, now, self.policy):
            self.metrics.oncall.count_sla_breach(timeline.team, timeline.severity)

    def _dead_letter(self, message: InputMessage, rejection: Rejection, output: KpiOutput) -> None:
        self.metrics.oncall.count_oncall_dead_letter(rejection.reason)
        output.dead_letters.append(
            dead_letter_for(message, rejection, self.dead_letter_record_limit)
        )
