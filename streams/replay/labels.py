"""What a labelled report log says: each report's kind and incident, the incidents the
reports make up, and which of them a trigger belongs to.

Scoring (:mod:`streams.replay.scoring`) counts with these; ``replay --explain``
(:mod:`streams.replay.explain`) tells with them why a page was false or an incident
missed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from models.escalation import EscalationClass, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category

RECORD_TIME_RESOLUTION_SECONDS = 0.001
"""Kafka timestamps are whole milliseconds: a decision stamped with one may precede the
report's own time by less than this."""


class LabelKind(StrEnum):
    BACKGROUND = "background"
    VIRAL = "viral"
    RAID = "raid"
    REPEAT_CLICKER = "repeat_clicker"
    COORDINATED = "coordinated"
    SURGE = "surge"
    SPREAD_SURGE = "spread_surge"
    RAMP = "ramp"
    CHILD_SAFETY = "child_safety"

    @property
    def is_abuse(self) -> bool:
        return self in (
            LabelKind.SURGE,
            LabelKind.SPREAD_SURGE,
            LabelKind.RAMP,
            LabelKind.CHILD_SAFETY,
        )


@dataclass(frozen=True, slots=True)
class LabelledReport:
    """One labelled report: ``at`` when it was made, ``delivered_at`` when it reached Kafka.

    ``reporter_id`` and ``weight`` (the reporter's trust weight under the policy replayed,
    :func:`alerting.standing.reporter_standing`) say how much evidence the report adds: an
    incident's reporters, each counted once, reach the spike's floor at some moment, and
    no page from them can come sooner (:meth:`LabelledIncident.floor_reached`). Without a
    ``reporter_id`` each report is a reporter of its own.
    """

    at: float
    broadcast_id: str
    category: Category
    kind: LabelKind
    incident: str | None
    delivered_at: float
    onset: float | None = None
    reporter_id: str | None = None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Trigger:
    """The part of a trigger that scoring needs; also what the fixed rule produces."""

    broadcast_id: str
    category: Category
    at: float
    severity: Severity
    escalation_class: EscalationClass
    team: str
    dedup_key: str = ""
    """The incident it opened (none for the fixed rule): its resolve ends it."""

    @classmethod
    def of(cls, escalation: EscalationV2, decided_at: float | None = None) -> Trigger:
        """``decided_at`` (when the deciding report reached Kafka) beats ``detected_at``."""
        return cls(
            escalation.labels.broadcast_id,
            escalation.labels.category,
            escalation.detected_at.timestamp() if decided_at is None else decided_at,
            escalation.severity,
            escalation.escalation_class,
            escalation.labels.team,
            escalation.dedup_key,
        )


@dataclass(slots=True)
class LabelledIncident:
    """An incident as its labels tell it (abuse, or a campaign), and the triggers that
    scoring gave it."""

    name: str
    kind: LabelKind
    onset: float
    ended: float
    categories: set[Category] = field(default_factory=set)
    lags: list[float] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    reports: list[LabelledReport] = field(default_factory=list)

    def floor_reached(self, floor: int) -> float:
        """When (delivered) the incident's own reporters, each counted once at the first of
        their reports to reach Kafka, first weighed ``floor`` in whole reporters, as the
        spike's floor counts them; infinite if they never did.

        A page from the incident's evidence alone cannot come sooner, whatever the rule: the
        delay of a surge that pages at this moment is all the traffic's. (Other reporters in
        the same window, of ordinary reports on the broadcast, may bring a page earlier.)
        """
        seen: set[str] = set()
        weight = 0.0
        for report in sorted(self.reports, key=lambda r: r.delivered_at):
            if report.reporter_id is not None:
                if report.reporter_id in seen:
                    continue
                seen.add(report.reporter_id)
            weight += report.weight
            if weight + 1e-9 >= floor:
                return report.delivered_at
        return math.inf


def _labelled_incidents(labels: list[LabelledReport]) -> dict[str, LabelledIncident]:
    incidents: dict[str, LabelledIncident] = {}
    for label in labels:
        if label.incident is None:
            continue
        onset = label.at if label.onset is None else label.onset
        known = incidents.get(label.incident)
        if known is None:
            known = incidents[label.incident] = LabelledIncident(
                label.incident, label.kind, onset, label.at
            )
        else:
            known.onset = min(known.onset, onset)
            known.ended = max(known.ended, label.at)
        known.categories.add(label.category)
        known.lags.append(label.delivered_at - label.at)
        known.reports.append(label)
    return incidents


def _broadcast_kinds(labels: list[LabelledReport]) -> dict[str, LabelKind]:
    """Each broadcast's kind, from its first label (what it was before any incident)."""
    kinds: dict[str, LabelKind] = {}
    for label in labels:
        kinds.setdefault(label.broadcast_id, label.kind)
    return kinds


def _incidents_by_broadcast(
    labels: list[LabelledReport], incidents: Mapping[str, LabelledIncident]
) -> dict[str, list[LabelledIncident]]:
    """Each broadcast's incidents, in the order their first labels came."""
    by_broadcast: dict[str, list[LabelledIncident]] = defaultdict(list)
    for label in labels:
        if label.incident is not None:
            incident = incidents[label.incident]
            if incident not in by_broadcast[label.broadcast_id]:
                by_broadcast[label.broadcast_id].append(incident)
    return by_broadcast


def owning_incident(
    candidates: list[LabelledIncident], trigger: Trigger
) -> LabelledIncident | None:
    """The incident ``trigger`` belongs to: of those begun on its broadcast by then, the
    newest of its category, else the newest of any; None when none had begun."""
    begun = [i for i in candidates if i.onset <= trigger.at + RECORD_TIME_RESOLUTION_SECONDS]
    same_category = [i for i in begun if trigger.category in i.categories]
    chosen = same_category or begun
    return max(chosen, key=lambda i: i.onset) if chosen else None


@dataclass(frozen=True, slots=True)
class LabelledLog:
    """A log's incidents by name and by broadcast, and each broadcast's kind: what scoring
    and ``--explain`` look triggers up in, so the two always agree."""

    incidents: dict[str, LabelledIncident]
    by_broadcast: dict[str, list[LabelledIncident]]
    kinds: dict[str, LabelKind]

    @classmethod
    def of(cls, labels: list[LabelledReport]) -> LabelledLog:
        incidents = _labelled_incidents(labels)
        return cls(incidents, _incidents_by_broadcast(labels, incidents), _broadcast_kinds(labels))

    def owner(self, trigger: Trigger) -> LabelledIncident | None:
        """The incident ``trigger`` belongs to (:func:`owning_incident`), if any."""
        return owning_incident(self.by_broadcast.get(trigger.broadcast_id, []), trigger)
