"""The console's record of one incident, folded from the three topics it reads.

The console knows an incident only through what travels on Kafka: the worker's
escalation events, the acknowledgements on-call tools (and the console itself)
send back, and the verdicts people record. Each fold below takes the record so
far (or None) and one event, and returns the updated record. Folds are
idempotent and order-tolerant, because the console re-reads events after a
crash (it commits its offsets after storing the records) and the three topics
are read independently:

* escalations older than the newest sequence seen change nothing;
* an acknowledgement or verdict seen twice (same action and moment) is recorded once;
* the latest verdict (by ``decided_at``) is the incident's verdict.

A record holds no reporter ids and no report comments: escalations carry none
(only report ids, which the platform's report tool resolves for those allowed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import EscalationClass, EventAction, Severity
from models.escalation_v2 import EscalationV2, EvidenceV2
from models.report import Category
from models.verdict import Verdict

RECORD_FORMAT: Literal[1] = 1
MAX_TIMELINE_ENTRIES = 200
"""Bounds one stored record; an incident updating for hours keeps its first and latest events."""


class Moment(StrEnum):
    TRIGGER = "trigger"
    UPDATE = "update"
    RESOLVE = "resolve"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    VERDICT = "verdict"


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    moment: Moment
    text: str


class Resolution(StrEnum):
    PERSON = "person"
    TOOL = "tool"
    SPIKEWATCH = "spikewatch"
    """The worker's quiet timer: reports fell back to normal."""


class IncidentRecord(BaseModel):
    """What the console shows about one incident; the value of its changelog topic."""

    model_config = ConfigDict(validate_assignment=False)

    format: Literal[1] = RECORD_FORMAT
    dedup_key: str
    escalated: bool = Field(
        default=False, description="False while only acknowledgements or verdicts were seen."
    )
    team: str = ""
    broadcast_id: str = ""
    broadcaster_id: str | None = None
    region: str | None = None
    category: Category | None = None
    severity: Severity = Severity.INFO
    paged: bool = Field(default=False, description="Some event of it had a paging severity.")
    escalation_class: EscalationClass | None = None
    summary: str = ""
    policy_version: str = ""
    last_sequence: int = 0
    triggered_at: datetime | None = None
    paged_at: datetime | None = Field(
        default=None,
        description="When a person was first paged: the trigger's decision, or the "
        "update's that raised the incident to a paging severity.",
    )
    evidence: EvidenceV2 | None = Field(
        default=None, description="The latest event's evidence; the latest series is kept."
    )
    runbook_url: str | None = None
    related: list[str] = Field(default_factory=list)
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: Resolution | None = None
    verdict: Verdict | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.escalated and self.resolved_at is None

    @property
    def clock_started_at(self) -> datetime | None:
        """Where the SLA and the time to acknowledge count from: the first page to a
        person, or the trigger of an incident that never paged (a record stored before
        ``paged_at`` existed counts from its trigger, as it did then).

        Counted from the trigger, an incident opened as a warning and raised twenty
        minutes later showed its SLA missed the moment it paged.
        """
        return self.paged_at or self.triggered_at

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_defaults=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> IncidentRecord:
        return cls.model_validate_json(data)


def fold_escalation(record: IncidentRecord | None, escalation: EscalationV2) -> IncidentRecord:
    """Take in one escalation event; shadow events page nobody, so they never reach here."""
    record = record or IncidentRecord(dedup_key=escalation.dedup_key)
    if escalation.sequence <= record.last_sequence:
        return record
    labels = escalation.labels
    record.escalated = True
    record.last_sequence = escalation.sequence
    record.team = labels.team
    record.broadcast_id = labels.broadcast_id
    record.broadcaster_id = labels.broadcaster_id
    record.region = labels.region
    record.category = labels.category
    record.escalation_class = escalation.escalation_class
    record.summary = escalation.summary
    record.policy_version = escalation.policy_version
    record.related = list(escalation.related)
    record.runbook_url = escalation.runbook_url or record.runbook_url
    if escalation.severity.pages and not record.paged:
        record.paged = True
        record.paged_at = escalation.detected_at
    if record.triggered_at is None:
        record.triggered_at = escalation.starts_at
    if escalation.event_action is EventAction.RESOLVE:
        if record.resolved_at is None:
            record.resolved_at = escalation.ends_at or escalation.detected_at
            record.resolution = Resolution.SPIKEWATCH
    else:
        record.severity = escalation.severity
    record.evidence = _keep_series(record.evidence, escalation.evidence)
    _add(record, escalation.detected_at, Moment(escalation.event_action.value), _said(escalation))
    return record


def fold_acknowledgement(record: IncidentRecord | None, ack: Acknowledgement) -> IncidentRecord:
    record = record or IncidentRecord(dedup_key=ack.dedup_key)
    by = f"by {'a person' if ack.actor is Actor.HUMAN else 'a tool'}"
    via = f" via {ack.tool}" if ack.tool else ""
    if record.acknowledged_at is None or ack.acted_at < record.acknowledged_at:
        record.acknowledged_at = ack.acted_at
    if ack.action is AckAction.RESOLVED:
        if record.resolved_at is None or ack.acted_at < record.resolved_at:
            record.resolved_at = ack.acted_at
            record.resolution = Resolution.PERSON if ack.actor is Actor.HUMAN else Resolution.TOOL
        _add(record, ack.acted_at, Moment.RESOLVED, f"resolved {by}{via}")
    else:
        _add(record, ack.acted_at, Moment.ACKNOWLEDGED, f"acknowledged {by}{via}")
    return record


def fold_verdict(record: IncidentRecord | None, verdict: Verdict) -> IncidentRecord:
    record = record or IncidentRecord(dedup_key=verdict.dedup_key)
    if record.verdict is None or verdict.decided_at >= record.verdict.decided_at:
        record.verdict = verdict
    text = f"verdict {verdict.verdict.value} by {verdict.actor}"
    _add(record, verdict.decided_at, Moment.VERDICT, text)
    return record


def _keep_series(previous: EvidenceV2 | None, latest: EvidenceV2) -> EvidenceV2:
    """A resolve carries no series: keep the chart the last trigger or update drew."""
    if latest.series is None and previous is not None and previous.series is not None:
        return latest.model_copy(update={"series": previous.series})
    return latest


def _said(escalation: EscalationV2) -> str:
    evidence = escalation.evidence
    return (
        f"{escalation.event_action.value} {escalation.severity.value}: "
        f"{evidence.reports} reports vs {evidence.expected_reports:.1f} expected, "
        f"leading {evidence.leading_category.value}"
    )


def _add(record: IncidentRecord, at: datetime, moment: Moment, text: str) -> None:
    entry = TimelineEntry(at=at, moment=moment, text=text)
    if entry in record.timeline:
        return
    record.timeline.append(entry)
    record.timeline.sort(key=lambda item: item.at)
    if len(record.timeline) > MAX_TIMELINE_ENTRIES:
        del record.timeline[1]
