"""``spikewatch replay``: a recorded report log through the live worker's own code.

Each message goes through :class:`~streams.worker.pipeline.ReportPipeline` (decode,
dead-letter, route, :meth:`DetectionEngine.observe`) with ``live=False``, so
``detected_at`` is the event time at which the decision was taken, and quiet
incidents are resolved by :meth:`ReportPipeline.tick` on the stream's event
time. Nothing here decides anything.

Why one pipeline per input partition: the live worker decides each partition on
its own (state, learned base rates and the resolve clock all live per
partition), so replay does the same. A report log file has no partitions; each
report is given the partition the producer's hash would give its
``broadcast_id`` (``--partitions`` must equal the live topic's count), which
makes the learned base rates, and hence every decision, the live worker's.

Where live and replay can still differ, and why that is accepted:

* live, a report whose Kafka key was wrong is re-published and decided when it
  comes round again; a topic replay sees both copies where live saw them, a
  file replay (no keys) decides it in place;
* live resolves by the wall clock once caught up, replay by the newest event
  time of the partition (and, after the end of the log, a bucket at a time until
  every incident has resolved):
  trigger and update ``event_id``\\ s are identical, a resolve may be stamped a
  little differently.

A file line may carry ``kafka_timestamp_ms``: the record timestamp the report
had (or, for a scenario, gets) on the input topic, given to the pipeline as the
message's timestamp, as a topic replay gives the broker's. Scoring takes a
decision's time from the record timestamp of the report that caused it: live,
that is when the worker could first have decided, whatever the device clock
said.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.reporter_mark import WEIGHT_UNIT
from alerting.standing import reporter_standing
from alerting.views import PolicyFigures
from models.errors import SpikewatchError
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReporterInfo
from streams.kafka.tables import key_partition
from streams.replay.fixed_rule import fixed_threshold_triggers
from streams.replay.labels import LabelKind, LabelledReport, Trigger
from streams.replay.scoring import ScoreCard, score
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.state_cache import BroadcastStates
from streams.worker.watchlist_file import policy_watchlist

TICK_SECONDS = 1.0
_CATEGORIES = frozenset(category.value for category in Category)


@dataclass(slots=True)
class _Lane:
    pipeline: ReportPipeline
    last_tick: float | None = None


@dataclass(slots=True)
class ReplayResult:
    floor: int
    """The spike's floor in weighted reporters: scoring measures when each incident's own
    reporters reach it (:meth:`streams.replay.labels.LabelledIncident.floor_reached`)."""
    escalations: list[EscalationV2] = field(default_factory=list)
    messages: int = 0
    dead_letters: int = 0
    labels: list[LabelledReport] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    resolves: dict[str, float] = field(default_factory=dict)
    """When each incident was resolved, by ``dedup_key``."""

    def score(self) -> ScoreCard:
        return score(self.labels, self.triggers, self.resolves, floor=self.floor)

    def record(self, escalations: Sequence[EscalationV2], decided_at: float | None) -> None:
        self.escalations.extend(escalations)
        for e in escalations:
            if e.event_action is EventAction.TRIGGER:
                self.triggers.append(Trigger.of(e, decided_at))
            elif e.event_action is EventAction.RESOLVE:
                self.resolves[e.dedup_key] = e.detected_at.timestamp()


class Replay:
    """Feeds messages, in order, to one live-identical pipeline per partition."""

    def __init__(self, policy: Policy, *, partitions: int, max_message_bytes: int) -> None:
        self.policy = policy
        self.partitions = partitions
        self.engine = DetectionEngine(policy, watchlist=policy_watchlist(policy))
        self.figures = PolicyFigures(policy)
        self.metrics = WorkerMetrics(policy.teams)
        self.max_message_bytes = max_message_bytes
        self.lanes: dict[int, _Lane] = {}
        self.result = ReplayResult(policy.spike.min_distinct_reporters)

    def feed(self, message: InputMessage) -> list[EscalationV2]:
        lane = self._lane(message.partition)
        output = lane.pipeline.process([message])
        lane.pipeline.save(output)
        self.result.messages += 1
        self.result.dead_letters += len(output.dead_letters)
        arrived = None if message.timestamp_ms is None else message.timestamp_ms / 1000
        self.result.record(output.escalations, arrived)
        sent: list[EscalationV2] = list(output.escalations)
        now = lane.pipeline.stream_time
        if now is not None and (lane.last_tick is None or now - lane.last_tick >= TICK_SECONDS):
            lane.last_tick = now
            ticked = lane.pipeline.settle(now)
            self.result.record(ticked, None)
            sent.extend(ticked)
        label = label_of(message.value, self.figures, message.timestamp_ms)
        if label is not None:
            self.result.labels.append(label)
        return sent

    def drain(self) -> list[EscalationV2]:
        """End of log: let time pass on every partition, as it would live, until every
        incident open at the end has been quiet long enough to resolve (the quiet period
        and the allowed lateness after its last signal, at the latest the log's end). It
        ticks a bucket at a time, so each incident resolves when it would have, give or
        take a bucket, not all at the drain's last moment."""
        sent: list[EscalationV2] = []
        window = self.policy.window
        quiet = self.policy.lifecycle.resolve_after_quiet_seconds + window.allowed_lateness_seconds
        for lane in self.lanes.values():
            end = lane.pipeline.stream_time
            if end is None:
                continue
            at = end
            while at < end + quiet:
                at = min(at + window.bucket_seconds, end + quiet)
                sent.extend(lane.pipeline.settle(at))
        self.result.record(sent, None)
        return sent

    def _lane(self, partition: int) -> _Lane:
        lane = self.lanes.get(partition)
        if lane is None:
            states = BroadcastStates(
                {}, lambda key: key_partition(key, self.partitions), durable=False
            )
            pipeline = ReportPipeline(
                self.engine,
                states,
                self.metrics,
                max_message_bytes=self.max_message_bytes,
                max_future_skew_seconds=0.0,
                live=False,
            )
            lane = self.lanes[partition] = _Lane(pipeline)
        return lane


def label_of(
    value: bytes | None, figures: PolicyFigures, timestamp_ms: int | None = None
) -> LabelledReport | None:
    """The scenario label of a report, if it carries one (the decoder ignores it).

    The report was made at ``label.made_at`` if its device clock was wrong, else
    at ``reported_at``; it reached Kafka at the record timestamp, if known. Its reporter
    weighs what the policy's ``figures`` make of the ``reporter`` object, as the worker
    weighs it; a ``reporter`` the decoder refuses weighs nothing (the worker dead-letters
    the report, so it never counts).
    """
    if not value:
        return None
    try:
        payload = orjson.loads(value)
        label = payload["label"]
        category = payload["category"]
        made = _time(label.get("made_at") or payload["reported_at"])
        onset = label.get("onset")
        return LabelledReport(
            at=made,
            broadcast_id=str(payload["broadcast_id"]),
            category=Category(category) if category in _CATEGORIES else Category.OTHER,
            kind=LabelKind(label["kind"]),
            incident=label.get("incident"),
            delivered_at=made if timestamp_ms is None else timestamp_ms / 1000,
            onset=None if onset is None else _time(onset),
            reporter_id=payload.get("reporter_id"),
            weight=_weight(payload.get("reporter"), figures),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _weight(reporter: object, figures: PolicyFigures) -> float:
    try:
        info = None if reporter is None else ReporterInfo.model_validate(reporter)
    except ValidationError:
        return 0.0
    return reporter_standing(info, figures).weight_milli / WEIGHT_UNIT


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def file_messages(lines: Iterable[bytes], partitions: int, topic: str) -> Iterator[InputMessage]:
    """A JSON-lines log as keyed messages on the partition the live producer would pick,
    with the record timestamp a line carries in ``kafka_timestamp_ms``."""
    for offset, raw in enumerate(lines):
        value = raw.rstrip(b"\r\n")
        if not value:
            continue
        key, timestamp_ms = _record_fields(value)
        partition = key_partition(key, partitions) if key is not None else 0
        yield InputMessage(topic, partition, offset, key, value, timestamp_ms)


def _record_fields(value: bytes) -> tuple[bytes | None, int | None]:
    """The Kafka key (the broadcast id) and the record timestamp a file line carries."""
    try:
        payload = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    broadcast_id = payload.get("broadcast_id")
    timestamp_ms = payload.get("kafka_timestamp_ms")
    return (
        broadcast_id.encode() if isinstance(broadcast_id, str) else None,
        timestamp_ms if isinstance(timestamp_ms, int) and timestamp_ms >= 0 else None,
    )


@dataclass(frozen=True, slots=True)
class TopicRange:
    """Which part of a topic to replay; times are Unix milliseconds (Kafka timestamps)."""

    topic: str
    from_offset: int | None = None
    to_offset: int | None = None
    from_time_ms: int | None = None
    to_time_ms: int | None = None


async def topic_messages(
    bootstrap: str, span: TopicRange, **options: Any
) -> AsyncIterator[InputMessage]:
    """Every message of every partition in ``span``, one partition after another.

    ``options`` are :func:`streams.kafka.security.client_options`: a replay reads
    the same secured cluster the worker does.

    Partitions are decided independently live, so reading them one at a time
    changes no decision. The end is fixed when reading starts (the end offsets,
    or ``to_offset`` / ``to_time``), so a replay of a live topic terminates.
    """
    partitions = await _partitions_of(bootstrap, span.topic, **options)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **options
    )
    try:
        await consumer.start()
        assigned = [TopicPartition(span.topic, p) for p in partitions]
        consumer.assign(assigned)
        starts = await _bounds(consumer, assigned, span.from_offset, span.from_time_ms, start=True)
        ends = await _bounds(consumer, assigned, span.to_offset, span.to_time_ms, start=False)
        for tp in assigned:
            if starts[tp] >= ends[tp]:
                continue
            consumer.seek(tp, starts[tp])
            while True:
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=1000)
                done = False
                for record in batch.get(tp, []):
                    if record.offset >= ends[tp]:
                        done = True
                        break
                    yield InputMessage(
                        record.topic,
                        record.partition,
                        record.offset,
                        record.key,
                        record.value,
                        record.timestamp,
                    )
                    done = record.offset + 1 >= ends[tp]
                if done:
                    break
    finally:
        await consumer.stop()


async def _partitions_of(bootstrap: str, topic: str, **options: Any) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(
        int(p["partition"]) for d in described if d.get("error_code") == 0 for p in d["partitions"]
    )
    if not partitions:
        raise ReplaySourceError(f"topic {topic} does not exist or has no partitions; check --topic")
    return partitions


class ReplaySourceError(SpikewatchError):
    """A replay source (file or topic) that cannot be read; the message says what to check."""


async def _bounds(
    consumer: AIOKafkaConsumer,
    assigned: list[TopicPartition],
    offset: int | None,
    time_ms: int | None,
    *,
    start: bool,
) -> dict[TopicPartition, int]:
    first = await consumer.beginning_offsets(assigned)
    last = await consumer.end_offsets(assigned)
    bounds = dict(first if start else last)
    if offset is not None:
        bounds = {tp: min(max(offset, first[tp]), last[tp]) for tp in assigned}
    if time_ms is not None:
        found: dict[TopicPartition, Any] = await consumer.offsets_for_times(
            {tp: time_ms for tp in assigned}
        )
        bounds = {tp: found[tp].offset if found.get(tp) else last[tp] for tp in assigned}
    return bounds


class Progress:
    """A one-line progress bar on standard error (standard output stays pure JSON lines)."""

    def __init__(self, total: int | None, stream: IO[str], *, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self._shown = 0.0

    def update(self, done: int, escalations: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._shown < 0.2):
            return
        self._shown = now
        rate = done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * done / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total}"
        else:
            bar = f"{done} messages"
        self.stream.write(f"\rreplay {bar} {rate:,.0f} msg/s escalations={escalations}")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def write_escalations(escalations: Sequence[EscalationV2], sink: IO[bytes]) -> None:
    for escalation in escalations:
        sink.write(escalation.to_json_bytes() + b"\n")


def report_card(result: ReplayResult, policy: Policy, fixed_reports: int) -> dict[str, Any]:
    """The scored figures of the policy and of the fixed-threshold rule on the same log."""
    fixed = score(
        result.labels,
        fixed_threshold_triggers(result.labels, policy, reports=fixed_reports),
        floor=result.floor,
    )
    return {
        "policy_version": policy.policy_version,
        "policy": result.score().as_dict(),
        f"fixed_threshold_{fixed_reports}_reports_in_5_min": fixed.as_dict(),
    }
