"""Why a page was false or an incident missed, one line each (``replay --explain``).

A scorecard says how many; whoever tunes a policy, or traces a regression, needs to
know which and why, and used to write a script for it each time. Each line names the
broadcast, what the labels say it was, when (seconds from the log's first report), and
what spikewatch did:

* a false page: the trigger's class, category and summary (its figures: what was
  counted against what was expected);
* a missed incident: what its broadcast got instead. Most often one of three things:
  nothing at all; a warning that never paged; or an incident opened before the abuse
  began (a false page of its own) and still open at the onset, which the abuse can only
  ``update``. The line gives that update's delay and summary, since recall counts
  triggers only.

Incidents and their owners are found exactly as scoring finds them
(:mod:`streams.replay.labels`), so the lines and the scorecard always agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from streams.replay.labels import (
    LabelledIncident,
    LabelledLog,
    LabelledReport,
    Trigger,
    owning_incident,
)

SUMMARY_CHARACTERS = 200
"""Enough of a summary for its figures; the full text is in the escalations printed."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One false page or one missed incident; ``at`` orders them in the log."""

    at: float
    line: str


def explain(
    labels: list[LabelledReport],
    triggers: Sequence[Trigger],
    escalations: Sequence[EscalationV2],
) -> list[Finding]:
    """Every false page and every missed abuse incident of one replay, in log order."""
    if not labels:
        return []
    start = min(label.at for label in labels)
    log = LabelledLog.of(labels)
    by_broadcast, kinds = log.by_broadcast, log.kinds
    by_key: dict[str, list[EscalationV2]] = defaultdict(list)
    for escalation in escalations:
        by_key[escalation.dedup_key].append(escalation)
    paged: set[str] = set()
    found: list[Finding] = []
    for trigger in triggers:
        if not trigger.severity.pages:
            continue
        owner = log.owner(trigger)
        if owner is not None and owner.kind.is_abuse:
            paged.add(owner.name)
            continue
        kind = owner.kind if owner is not None else kinds.get(trigger.broadcast_id)
        found.append(
            Finding(
                trigger.at,
                f"false page at {trigger.at - start:.0f} s: {trigger.broadcast_id} "
                f"({kind or 'unlabelled'}), {trigger.escalation_class} on {trigger.category}: "
                f"{_summary(by_key.get(trigger.dedup_key, []))}",
            )
        )
    reports: dict[str, int] = defaultdict(int)
    for label in labels:
        if label.incident is not None:
            reports[label.incident] += 1
    for name, incident in log.incidents.items():
        if not incident.kind.is_abuse or name in paged:
            continue
        broadcast = next(b for b, known in by_broadcast.items() if incident in known)
        categories = ", ".join(sorted(incident.categories))
        found.append(
            Finding(
                incident.onset,
                f"missed at {incident.onset - start:.0f} s: {name} ({incident.kind}, "
                f"{reports[name]} reports: {categories}) on {broadcast} "
                f"({kinds.get(broadcast, 'unlabelled')}): "
                f"{_instead(incident, broadcast, by_broadcast[broadcast], triggers, by_key)}",
            )
        )
    return sorted(found, key=lambda finding: finding.at)


def _instead(
    incident: LabelledIncident,
    broadcast: str,
    neighbours: list[LabelledIncident],
    triggers: Sequence[Trigger],
    by_key: dict[str, list[EscalationV2]],
) -> str:
    """What ``broadcast`` got in place of a paging trigger for ``incident``; ``neighbours``
    are the broadcast's incidents, ``incident`` among them."""
    onset = incident.onset
    on_broadcast = sorted((t for t in triggers if t.broadcast_id == broadcast), key=lambda t: t.at)
    for opened in (t for t in on_broadcast if t.severity.pages and t.at < onset):
        history = by_key.get(opened.dedup_key, [])
        resolved = [
            e.detected_at.timestamp() for e in history if e.event_action is EventAction.RESOLVE
        ]
        if resolved and min(resolved) <= onset:
            continue
        still_open = (
            f"the broadcast's incident, opened {onset - opened.at:.0f} s before the onset by "
            f"{opened.escalation_class} on {opened.category}, was still open"
        )
        updates = [
            e
            for e in history
            if e.event_action is EventAction.UPDATE and e.detected_at.timestamp() >= onset
        ]
        if not updates:
            return f"{still_open} and got no update after the onset"
        return (
            f"{still_open}; updated {updates[0].detected_at.timestamp() - onset:.1f} s after "
            f"the onset: {_summary(updates[:1])}"
        )
    later = [t for t in on_broadcast if t.at >= onset]
    if not later:
        return "no trigger on the broadcast from the onset on"
    first = later[0]
    owner = owning_incident(neighbours, first)
    went_to = "" if owner is None or owner is incident else f", which went to {owner.name}"
    return (
        f"the first trigger after the onset was {first.severity} {first.escalation_class} on "
        f"{first.category}, {first.at - onset:.1f} s after it{went_to}: "
        f"{_summary(by_key.get(first.dedup_key, []))}"
    )


def _summary(escalations: Sequence[EscalationV2]) -> str:
    if not escalations:
        return "(no escalation text)"
    text = escalations[0].summary
    return text if len(text) <= SUMMARY_CHARACTERS else text[: SUMMARY_CHARACTERS - 3] + "..."
