"""Where an incident pages: the team and the severity.

A coordination incident goes to the coordination team. An abuse incident on a
watchlisted (high-profile) broadcaster goes one severity level up, never past its
category's ceiling, to the high-profile team; otherwise to the leading category's
team for the broadcast's region, or the category's default team. A category with its
``own_team`` (child safety) goes to its own team on a high-profile broadcaster too: only
that team may handle the material and file the reports it calls for, and a high-profile
team would have to hand the page on.
"""

from __future__ import annotations

from alerting.detectors import Assessment, capped_severity
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import Severity
from models.report import Category


class Routing:
    """``watchlist`` is the high-profile broadcasters: the shell replaces it when the
    watchlist file changes (the core never reads files)."""

    def __init__(self, policy: Policy, watchlist: frozenset[str]) -> None:
        self.policy = policy
        self.watchlist = watchlist

    def is_high_profile(self, state: BroadcastState) -> bool:
        return state.broadcaster_id is not None and state.broadcaster_id in self.watchlist

    def severity(
        self, state: BroadcastState, category: Category, assessment: Assessment
    ) -> Severity:
        """The assessment's severity, one level up for a high-profile broadcaster's abuse
        incident, within the category's ceiling."""
        if not assessment.escalation_class.is_abuse or not self.is_high_profile(state):
            return assessment.severity
        return capped_severity(assessment.severity.raised(), self.policy, category)

    def team(self, state: BroadcastState, abuse: bool, category: Category) -> str:
        if not abuse:
            return self.policy.coordination.team
        route = self.policy.category(category)
        if self.is_high_profile(state) and not route.own_team:
            return self.policy.high_profile.team
        return route.team_for(state.region)

    def route_restored(self, state: BroadcastState) -> None:
        """Key incidents restored from an older state format by the team they route to."""
        for incidents in (state.incidents, state.coordination):
            restored = list(incidents.values())
            incidents.clear()
            for incident in restored:
                if not incident.team:
                    incident.team = self.team(
                        state, incident.escalation_class.is_abuse, incident.category
                    )
                incidents[incident.team] = incident
        state.unrouted = False
