"""Incident lifecycle: one incident, one ``dedup_key``, one page.

State machine per broadcast and routed team (see :mod:`alerting.engine` for when a
second team's incident opens on the same broadcast)::

    (none) --FIRE--> open [trigger, sequence 1]
    open --FIRE with higher severity--> open [update]
    open --FIRE naming a category not yet in the incident--> open [update]
    open --first FIRE of a spike or credible report on a ramp's incident--> open [update]
    open --repeat interval passed while active--> open [update]
    open --FIRE or SUSTAIN--> open (stays active, nothing sent)
    open --no FIRE/SUSTAIN for resolve_after_quiet_seconds--> (none) [resolve]

Triggering high (FIRE) and staying open on the low mark (SUSTAIN) is the
hysteresis that stops a broadcast hovering at the threshold from paging again
and again. The ``dedup_key`` includes the opening time, so a new incident on the
same broadcast after a resolve is a new page, while a restarted worker that
restored its state keeps using the same key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from alerting.policy import LifecyclePolicy
from models.escalation import EscalationClass, EventAction, RuleFiring, Severity
from models.report import Category

_EVENT_ID_NAMESPACE = uuid.UUID("6f1e4f0c-36a2-4d55-9a39-5b0d0f5c2a11")


@dataclass(slots=True)
class Incident:
    """``category`` is the leading one; ``categories`` every category that has fired in it,
    in the order they joined; ``classes`` every kind of detector that has fired in it (the
    opening one first). ``team`` is where it was routed when it opened (empty for an
    incident restored from a state format that had none: the engine routes it again)."""

    dedup_key: str
    category: Category
    escalation_class: EscalationClass
    severity: Severity
    sequence: int
    opened_at: float
    last_active_at: float
    last_sent_at: float
    key_ms: int
    team: str = ""
    categories: list[Category] = field(default_factory=list)
    classes: list[EscalationClass] = field(default_factory=list)

    @property
    def only_a_ramp(self) -> bool:
        """Whether a ramp is the only kind of detector that has fired in it."""
        return self.classes == [EscalationClass.REPORT_RAMP]

    def to_plain(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Incident:
        return cls(
            dedup_key=plain["dedup_key"],
            category=Category(plain["category"]),
            escalation_class=EscalationClass(plain["escalation_class"]),
            severity=Severity(plain["severity"]),
            sequence=int(plain["sequence"]),
            opened_at=float(plain["opened_at"]),
            last_active_at=float(plain["last_active_at"]),
            last_sent_at=float(plain["last_sent_at"]),
            key_ms=int(plain["key_ms"]),
            team=str(plain.get("team", "")),
            categories=[Category(c) for c in plain.get("categories", [plain["category"]])],
            classes=[EscalationClass(c) for c in plain.get("classes", [plain["escalation_class"]])],
        )


def incident_categories(incidents: Iterable[Incident]) -> frozenset[Category]:
    """Every category that has fired in any of ``incidents``: what a broadcast's history
    must not learn from while they are open (:meth:`alerting.history.BroadcastHistory.add`)."""
    return frozenset(category for incident in incidents for category in incident.categories)


def dedup_key_for(
    broadcast_id: str,
    team: str,
    key_ms: int,
    escalation_class: EscalationClass = EscalationClass.REPORT_SPIKE,
) -> str:
    """One key per broadcast, team and opening; coordination incidents get their own namespace.

    The team (not a category) names the incident: several categories share one.
    """
    if escalation_class.is_abuse:
        return f"spikewatch:{broadcast_id}:{team}:{key_ms}"
    return f"spikewatch:{broadcast_id}:{team}:{escalation_class.value}:{key_ms}"


def event_id_for(dedup_key: str, sequence: int) -> str:
    """Deterministic, so a re-sent event after a crash carries the original id."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{dedup_key}#{sequence}"))


def open_incident(
    broadcast_id: str,
    team: str,
    categories: list[Category],
    escalation_class: EscalationClass,
    severity: Severity,
    at: float,
    previous_key_ms: int | None = None,
) -> Incident:
    """Open an incident keyed by its opening time in milliseconds; ``categories[0]`` leads.

    ``previous_key_ms`` is the key time of the last incident of this broadcast and
    team: a new incident opened in the same millisecond (reports stamped in
    whole seconds, a backlog being caught up) still gets a key of its own.
    """
    key_ms = int(at * 1000)
    if previous_key_ms is not None and key_ms <= previous_key_ms:
        key_ms = previous_key_ms + 1
    return Incident(
        dedup_key=dedup_key_for(broadcast_id, team, key_ms, escalation_class),
        category=categories[0],
        escalation_class=escalation_class,
        severity=severity,
        sequence=1,
        opened_at=at,
        last_active_at=at,
        last_sent_at=at,
        key_ms=key_ms,
        team=team,
        categories=list(categories),
        classes=[escalation_class],
    )


def on_active_signal(
    incident: Incident,
    fired_severity: Severity | None,
    at: float,
    lifecycle: LifecyclePolicy,
    fired_categories: tuple[Category, ...] = (),
    fired_classes: tuple[EscalationClass, ...] = (),
) -> EventAction | None:
    """Record an active signal on an open incident; say whether to send an update.

    ``fired_severity`` is the severity of a FIRE verdict, or None for a SUSTAIN;
    ``fired_categories`` the categories that FIRE names, most severe first: one not
    yet in the incident joins it, and the first of them leads when the severity rises.
    ``fired_classes`` the kinds of detector that FIRE: the first spike or credible report
    on an incident only a ramp has seen is an update too (:func:`new_evidence`).
    """
    incident.last_active_at = max(incident.last_active_at, at)
    raised = fired_severity is not None and fired_severity.rank > incident.severity.rank
    joined = [c for c in fired_categories if c not in incident.categories]
    plainer = next((c for c in fired_classes if new_evidence(incident, c)), None)
    repeat = lifecycle.repeat_interval_seconds
    repeat_due = repeat > 0 and at - incident.last_sent_at >= repeat
    if not (raised or joined or plainer is not None or repeat_due):
        return None
    incident.categories.extend(joined)
    if plainer is not None:
        incident.classes.append(plainer)
    if raised and fired_severity is not None:
        incident.severity = fired_severity
        if fired_categories:
            incident.category = fired_categories[0]
    incident.sequence += 1
    incident.last_sent_at = at
    return EventAction.UPDATE


def new_evidence(incident: Incident, fired_class: EscalationClass) -> bool:
    """Whether a FIRE of ``fired_class`` tells on-call something the incident has not.

    A ramp pages on a climb that a five-minute window holds only weakly, and now and then
    on a large broadcast's chance excursion; an analyst who looked and found nothing may
    have let it be. When a spike or a credible report then fires in the same category at
    the same severity, neither the severity nor the categories change, and without an
    update nobody would learn that the abuse is now plain. Nothing else is news of that
    kind: a surge's rate climbs, and the ramp firing on an incident a spike opened is that,
    and a spike beside a credible report adds reporters, not a kind of evidence.
    """
    return incident.only_a_ramp and fired_class is not EscalationClass.REPORT_RAMP


def resolve_due(
    incident: Incident, now: float, lifecycle: LifecyclePolicy, allowed_lateness: float = 0.0
) -> bool:
    """Quiet for ``resolve_after_quiet_seconds`` *after* the allowed lateness has passed.

    A report may still arrive up to ``allowed_lateness`` behind the clock and count
    (reports of one partition interleave broadcasts out of order); resolving before
    that would let such a report of the same burst reopen the incident under a new
    ``dedup_key``: a second page for one incident.
    """
    return now - incident.last_active_at >= lifecycle.resolve_after_quiet_seconds + (
        allowed_lateness
    )


def close_incident(incident: Incident, at: float) -> None:
    incident.sequence += 1
    incident.last_sent_at = at


def note_related(incident: Incident, at: float) -> EventAction:
    """Another team's incident opened on the same broadcast: an update names it."""
    incident.sequence += 1
    incident.last_sent_at = at
    return EventAction.UPDATE


DECIDED_TOO_LATE_RULE = "page_within_seconds"
"""The rule an escalation's evidence names first when it was decided too late to page, so
that the shell can count such decisions and a consumer of the topics can tell one from
an ordinary warning without reading the summary's prose."""


def decided_too_late(behind: float, lifecycle: LifecyclePolicy) -> RuleFiring:
    """The evidence's record of why a signal decided ``behind`` seconds after its
    broadcast's newest report paged nobody."""
    limit = lifecycle.page_within_seconds
    return RuleFiring(
        rule=DECIDED_TOO_LATE_RULE,
        fired=True,
        figures={
            "decided_after_newest_report_seconds": round(behind, 1),
            "page_within_seconds": limit,
        },
        reason=(
            f"not paged: decided {behind:.0f} s after the broadcast's newest report, "
            f"over lifecycle.page_within_seconds ({limit:.0f} s)"
        ),
    )


def too_late_to_page(
    newest_event_time: float | None,
    newest_record_time: float | None,
    moment: float,
    lifecycle: LifecyclePolicy,
) -> float | None:
    """How long after the broadcast's newest report a signal was decided at ``moment``,
    where that is longer than ``lifecycle.page_within_seconds`` (the signal does not page);
    otherwise None. Replay decides at each report's own time, so it never is.

    The newest report is the later of its event time and the time its record reached
    Kafka. A backlog's records are as old as its reports, so it is held back either way;
    a broadcast whose reporters' clocks all run slow (one app build stamping local time
    as UTC) has a newest event time that long ago while its reports arrive now, and is
    no backlog.
    """
    known = [t for t in (newest_event_time, newest_record_time) if t is not None]
    if not known:
        return None
    behind = moment - max(known)
    return behind if behind > lifecycle.page_within_seconds else None
