"""Scoring decisions against a labelled report log, and the fixed-threshold rule to beat.

Replay feeds this module the labels that travel with a scenario (see
``streams/scenarios.py``) and the triggers a policy produced. Scoring is per
incident, the unit on-call cares about:

* an *abuse* incident (surge, ramp, single child-safety report) is detected by a
  paging trigger (``critical``/``error``) on its broadcast and category at or
  after its first report; recall = detected / abuse incidents;
* any other paging trigger is a *false page* (benign, viral, repeat-clicker or
  coordinated broadcasts, or an abuse broadcast paged before the abuse began);
  precision = true pages / pages;
* a *coordinated* incident is classed when a ``coordinated_reporting`` trigger
  names it;
* detection delay = trigger decision time - first report of the incident, in
  event time.

The fixed-threshold rule ("page at N reports of a category in five minutes")
is the yardstick the issue asks to compare against on the same log.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from dataclasses import dataclass, field
from enum import StrEnum

from alerting.detectors import category_severity
from alerting.policy import Policy
from models.escalation import Escalation, EscalationClass, EventAction, Severity
from models.report import Category


class LabelKind(StrEnum):
    BACKGROUND = "background"
    VIRAL = "viral"
    REPEAT_CLICKER = "repeat_clicker"
    COORDINATED = "coordinated"
    SURGE = "surge"
    RAMP = "ramp"
    CHILD_SAFETY = "child_safety"

    @property
    def is_abuse(self) -> bool:
        return self in (LabelKind.SURGE, LabelKind.RAMP, LabelKind.CHILD_SAFETY)


@dataclass(frozen=True, slots=True)
class LabelledReport:
    at: float
    broadcast_id: str
    category: Category
    kind: LabelKind
    incident: str | None


@dataclass(frozen=True, slots=True)
class Trigger:
    """The part of a trigger that scoring needs; also what the fixed rule produces."""

    broadcast_id: str
    category: Category
    at: float
    severity: Severity
    escalation_class: EscalationClass

    @classmethod
    def of(cls, escalation: Escalation) -> Trigger:
        return cls(
            escalation.labels.broadcast_id,
            escalation.labels.category,
            escalation.detected_at.timestamp(),
            escalation.severity,
            escalation.escalation_class,
        )


@dataclass(slots=True)
class _Incident:
    kind: LabelKind
    first_at: float
    triggers: list[Trigger] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ScoreCard:
    abuse_incidents: int
    detected: int
    pages: int
    false_pages: int
    hours: float
    incidents_with_one_trigger: int
    coordinated_incidents: int
    coordinated_classed: int
    false_pages_by_kind: dict[str, int]
    delays_by_kind: dict[str, list[float]]

    @property
    def recall(self) -> float:
        return self.detected / self.abuse_incidents if self.abuse_incidents else 1.0

    @property
    def precision(self) -> float:
        return (self.pages - self.false_pages) / self.pages if self.pages else 1.0

    @property
    def false_pages_per_hour(self) -> float:
        return self.false_pages / self.hours if self.hours else 0.0

    def median_delay(self, kind: LabelKind) -> float | None:
        delays = self.delays_by_kind.get(kind.value)
        return round(statistics.median(delays), 3) if delays else None

    def max_delay(self, kind: LabelKind) -> float | None:
        delays = self.delays_by_kind.get(kind.value)
        return max(delays) if delays else None

    def as_dict(self) -> dict[str, object]:
        return {
            "abuse_incidents": self.abuse_incidents,
            "detected": self.detected,
            "recall": round(self.recall, 4),
            "pages": self.pages,
            "false_pages": self.false_pages,
            "precision": round(self.precision, 4),
            "false_pages_per_hour": round(self.false_pages_per_hour, 3),
            "false_pages_by_kind": self.false_pages_by_kind,
            "incidents_with_exactly_one_trigger": self.incidents_with_one_trigger,
            "coordinated_incidents": self.coordinated_incidents,
            "coordinated_classed": self.coordinated_classed,
            "median_delay_seconds": {
                kind.value: self.median_delay(kind) for kind in LabelKind if kind.is_abuse
            },
            "max_delay_seconds": {
                kind.value: self.max_delay(kind) for kind in LabelKind if kind.is_abuse
            },
        }


def triggers_of(escalations: list[Escalation]) -> list[Trigger]:
    return [Trigger.of(e) for e in escalations if e.event_action is EventAction.TRIGGER]


def score(labels: list[LabelledReport], triggers: list[Trigger]) -> ScoreCard:
    incidents: dict[str, _Incident] = {}
    owner: dict[tuple[str, Category], str] = {}
    kinds: dict[str, LabelKind] = {}
    for label in labels:
        kinds.setdefault(label.broadcast_id, label.kind)
        if label.incident is None:
            continue
        owner[(label.broadcast_id, label.category)] = label.incident
        known = incidents.get(label.incident)
        if known is None:
            incidents[label.incident] = _Incident(label.kind, label.at)
        else:
            known.first_at = min(known.first_at, label.at)
    pages = false_pages = 0
    false_by_kind: dict[str, int] = defaultdict(int)
    for trigger in triggers:
        name = owner.get((trigger.broadcast_id, trigger.category))
        incident = incidents.get(name) if name is not None else None
        if incident is not None and trigger.at >= incident.first_at:
            incident.triggers.append(trigger)
        if not trigger.severity.pages:
            continue
        pages += 1
        if incident is None or not incident.kind.is_abuse or trigger.at < incident.first_at:
            false_pages += 1
            kind = incident.kind if incident is not None else kinds.get(trigger.broadcast_id)
            false_by_kind[kind.value if kind is not None else "unlabelled"] += 1
    abuse = [i for i in incidents.values() if i.kind.is_abuse]
    coordinated = [i for i in incidents.values() if i.kind is LabelKind.COORDINATED]
    delays: dict[str, list[float]] = defaultdict(list)
    detected = 0
    for incident in abuse:
        paged = [t for t in incident.triggers if t.severity.pages]
        if paged:
            detected += 1
            delays[incident.kind.value].append(round(paged[0].at - incident.first_at, 3))
    times = [label.at for label in labels]
    return ScoreCard(
        abuse_incidents=len(abuse),
        detected=detected,
        pages=pages,
        false_pages=false_pages,
        hours=(max(times) - min(times)) / 3600 if times else 0.0,
        incidents_with_one_trigger=sum(1 for i in abuse if len(i.triggers) == 1),
        coordinated_incidents=len(coordinated),
        coordinated_classed=sum(
            1
            for i in coordinated
            if any(t.escalation_class is EscalationClass.COORDINATED_REPORTING for t in i.triggers)
        ),
        false_pages_by_kind=dict(false_by_kind),
        delays_by_kind=dict(delays),
    )


def fixed_threshold_triggers(
    labels: list[LabelledReport], policy: Policy, *, reports: int = 5, window_seconds: float = 300
) -> list[Trigger]:
    """ "Page at ``reports`` reports of a category in ``window_seconds``", one page until quiet.

    Counts reports, not reporters, and knows nothing of audiences or trust: the
    rule the issue says cannot do the job, measured on the same log.
    """
    recent: dict[tuple[str, Category], deque[float]] = defaultdict(deque)
    open_until: dict[tuple[str, Category], float] = {}
    triggers: list[Trigger] = []
    for label in sorted(labels, key=lambda label: label.at):
        key = (label.broadcast_id, label.category)
        times = recent[key]
        times.append(label.at)
        while times[0] <= label.at - window_seconds:
            times.popleft()
        if len(times) >= reports and label.at > open_until.get(key, float("-inf")):
            triggers.append(
                Trigger(
                    label.broadcast_id,
                    label.category,
                    label.at,
                    category_severity(label.category, policy),
                    EscalationClass.REPORT_SPIKE,
                )
            )
        if len(times) >= reports or label.at <= open_until.get(key, float("-inf")):
            open_until[key] = label.at + window_seconds
    return triggers
