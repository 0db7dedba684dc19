"""Whether a sink delivers an escalation at all, and why not when it does not.

Every skip has a named reason, counted by the shell, so nothing a sink leaves
alone disappears silently.
"""

from __future__ import annotations

from enum import StrEnum

from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from oncall.delivery.config import AlertmanagerSink, PagerDutySink, SlackSink, TemplateSink

AnySink = AlertmanagerSink | PagerDutySink | SlackSink | TemplateSink


class Skip(StrEnum):
    SHADOW = "skipped_shadow"
    """Written by a shadow policy: pages nobody, ever."""
    OTHER_TEAM = "skipped_team"
    """This sink does not serve the escalation's team."""
    BELOW_SEVERITY = "skipped_severity"
    """Under the sink's ``min_severity``; a resolve always passes, so nothing stays open."""
    STALE = "skipped_stale"
    """Not newer than what was already delivered for the incident."""


def skip_reason(sink: AnySink, escalation: EscalationV2) -> Skip | None:
    if escalation.shadow:
        return Skip.SHADOW
    if not sink.delivers_to(escalation.labels.team):
        return Skip.OTHER_TEAM
    if (
        escalation.severity.rank < sink.min_severity.rank
        and escalation.event_action is not EventAction.RESOLVE
    ):
        return Skip.BELOW_SEVERITY
    return None
