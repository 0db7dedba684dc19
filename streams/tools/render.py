"""Escalations as one line a person reads at a glance (demo and ``tail --pretty``)."""

from __future__ import annotations

from models.escalation import EventAction
from models.escalation_v2 import EscalationV2

_MARKS = {
    EventAction.TRIGGER: "TRIGGER",
    EventAction.UPDATE: "UPDATE ",
    EventAction.RESOLVE: "RESOLVE",
}


def describe(topic: str, escalation: EscalationV2) -> str:
    labels = escalation.labels
    evidence = escalation.evidence
    fired = ", ".join(rule.rule for rule in evidence.rules if rule.fired) or "-"
    return (
        f"{_MARKS[escalation.event_action]} {escalation.severity.value:<8} "
        f"{labels.category.value:<17} {labels.broadcast_id:<10} -> {topic:<24} "
        f"seq={escalation.sequence} reporters={evidence.distinct_reporters} "
        f"weighted={evidence.weighted_reporters:.1f} expected={evidence.expected_reports:.2f} "
        f"viewers={evidence.viewers} rules={fired}\n"
        f"          {escalation.summary}"
    )
