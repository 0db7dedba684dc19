"""The on-call loop of one incident, from its page to its resolution, as plain data.

The worker reads its own escalations back (trigger, update, resolve) and the
acknowledgements on-call tools send, both keyed by ``dedup_key``, and keeps one
:class:`IncidentTimeline` per incident in a changelog-backed table so a restart
does not lose a trigger time. The functions here update a timeline and say which
KPI facts it produced; the shell turns those into metrics.

Definitions (docs/operations.md's metric table repeats them):

* *incoming*: a trigger; *manual* when its severity pages a person;
* *raised to a page*: an incident opened at a severity that pages nobody (a
  warning, or a backlog held back by ``lifecycle.page_within_seconds``) whose
  update first pages a person; incidents that needed a person are the manual
  incoming plus these;
* *time to acknowledge*: from the first page to a person (the trigger, or the
  update that raised the incident to a paging severity; the trigger for one that
  never paged) to the first acknowledgement (a resolution without an earlier
  acknowledgement acknowledges at the same moment). Counted from a warning's
  trigger, an incident raised twenty minutes later looked twenty minutes slow to
  acknowledge, and breached its SLA the moment it paged;
* *handle time*: first acknowledgement to resolution by a person;
* *solved*: the first resolution, by a person, a tool, or spikewatch's quiet timer;
* *SLA breach*: not acknowledged within the policy's SLA for the severity, on
  the same clock as the time to acknowledge, counted once, as soon as the SLA
  runs out (not only when an ack finally comes); an incident resolved before the
  SLA ran out has no breach.

Facts arrive in either order (the acknowledgement topic and the escalation
topics are read independently), so a time is observed as soon as both of its
ends are known.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import orjson

from alerting.encoding import stored_json
from alerting.policy import OncallPolicy
from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2

_TIMELINE_FORMAT = 2
_TIMELINE_FORMATS = (1, _TIMELINE_FORMAT)


class Resolver(StrEnum):
    PERSON = "person"
    TOOL = "tool"
    QUIET_TIMER = "quiet_timer"


@dataclass(slots=True)
class IncidentTimeline:
    dedup_key: str
    first_seen_at: float
    team: str | None = None
    severity: Severity | None = None
    triggered_at: float | None = None
    paged_at: float | None = None
    """When a person was first paged: the trigger's time, or the raising update's."""
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    resolved_by: Resolver | None = None
    sla_breached: bool = False

    def to_bytes(self) -> bytes:
        return stored_json({"v": _TIMELINE_FORMAT, **asdict(self)})

    @classmethod
    def from_bytes(cls, data: bytes) -> IncidentTimeline:
        plain: dict[str, Any] = orjson.loads(data)
        if plain.pop("v", None) not in _TIMELINE_FORMATS:
            raise ValueError("unknown incident timeline format")
        stored_severity, resolver = plain.pop("severity"), plain.pop("resolved_by")
        severity = Severity(stored_severity) if stored_severity else None
        if "paged_at" not in plain:
            plain["paged_at"] = (
                plain["triggered_at"] if severity is not None and severity.pages else None
            )
        return cls(
            **plain,
            severity=severity,
            resolved_by=Resolver(resolver) if resolver else None,
        )

    @property
    def clock_started_at(self) -> float | None:
        """Where the time to acknowledge and the SLA count from: the first page to a
        person, or the trigger of an incident that never paged."""
        return self.paged_at if self.paged_at is not None else self.triggered_at

    @property
    def broadcast_id(self) -> str:
        """The broadcast named in a spikewatch ``dedup_key``, for exemplars (else '')."""
        prefix, _, rest = self.dedup_key.partition(":")
        if prefix != "spikewatch" or rest.count(":") < 2:
            return ""
        return rest.rsplit(":", 2)[0]


@dataclass(slots=True)
class KpiFacts:
    """What one update of a timeline means for the KPIs; empty when nothing new."""

    incoming: bool = False
    raised_to_page: bool = False
    solved_by: Resolver | None = None
    time_to_acknowledge: float | None = None
    handle_time: float | None = None
    unknown_incident: bool = False


def on_escalation(timeline: IncidentTimeline, escalation: EscalationV2) -> KpiFacts:
    """Record one of our own escalation events read back from an on-call topic."""
    facts = KpiFacts()
    at = escalation.detected_at.timestamp()
    timeline.team = escalation.labels.team
    if escalation.event_action is EventAction.TRIGGER:
        if timeline.triggered_at is not None:
            return facts
        timeline.triggered_at = at
        timeline.severity = escalation.severity
        if escalation.severity.pages:
            timeline.paged_at = at
        facts.incoming = True
        if timeline.acknowledged_at is not None:
            facts.time_to_acknowledge = max(0.0, timeline.acknowledged_at - at)
    elif escalation.event_action is EventAction.UPDATE:
        timeline.severity = escalation.severity
        if escalation.severity.pages and timeline.paged_at is None:
            timeline.paged_at = at
            facts.raised_to_page = timeline.triggered_at is not None
    elif timeline.resolved_at is None:
        timeline.resolved_at = at
        timeline.resolved_by = Resolver.QUIET_TIMER
        facts.solved_by = Resolver.QUIET_TIMER
    return facts


def on_acknowledgement(timeline: IncidentTimeline, ack: Acknowledgement) -> KpiFacts:
    """Record an on-call tool's acknowledgement or resolution of the incident.

    An acknowledgement read before the update that raised its incident to a page (the
    topics are read independently) counts from the trigger: nothing yet says a page
    is coming.
    """
    facts = KpiFacts(unknown_incident=timeline.triggered_at is None)
    at = ack.acted_at.timestamp()
    if timeline.acknowledged_at is None:
        timeline.acknowledged_at = at
        started = timeline.clock_started_at
        if started is not None:
            facts.time_to_acknowledge = max(0.0, at - started)
    if ack.action is AckAction.RESOLVED and timeline.resolved_at is None:
        resolver = Resolver.PERSON if ack.actor is Actor.HUMAN else Resolver.TOOL
        timeline.resolved_at = at
        timeline.resolved_by = resolver
        facts.solved_by = resolver
        if resolver is Resolver.PERSON:
            facts.handle_time = max(0.0, at - timeline.acknowledged_at)
    return facts


def check_sla(timeline: IncidentTimeline, now: float, policy: OncallPolicy) -> bool:
    """True exactly once: when the incident's acknowledgement SLA has just been missed.

    The clock stops at the acknowledgement or the resolution, whichever came first.
    """
    started = timeline.clock_started_at
    if timeline.sla_breached or started is None or timeline.severity is None:
        return False
    sla = policy.ack_sla_seconds.get(timeline.severity)
    if sla is None:
        return False
    stops = [t for t in (timeline.acknowledged_at, timeline.resolved_at) if t is not None]
    clock_end = min(stops) if stops else now
    if clock_end - started <= sla:
        return False
    timeline.sla_breached = True
    return True


def awaiting_acknowledgement(timeline: IncidentTimeline) -> bool:
    return (
        timeline.triggered_at is not None
        and timeline.acknowledged_at is None
        and timeline.resolved_at is None
    )


def forgettable(timeline: IncidentTimeline, now: float, policy: OncallPolicy) -> bool:
    """Whether the timeline can be dropped: long resolved, or too old to matter."""
    if timeline.resolved_at is not None:
        return now - timeline.resolved_at >= policy.keep_resolved_seconds
    return now - timeline.first_seen_at >= policy.keep_open_seconds
