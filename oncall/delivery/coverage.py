"""Whether a sinks file delivers every page a policy can send, and names only its teams.

Notify delivers what its sinks serve and counts the rest as skipped; it cannot know that
a team nobody serves is a mistake rather than another notify deployment's work. Before a
deployment, though, a paging team no sink serves at a severity it is paged at is pages
that end on a Kafka topic nobody reads, and a team a sink names that the policy never
routes to is most often a misspelt one (its real pages go nowhere). ``spikewatch check``
reports both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models.escalation import Severity
from oncall.delivery.config import NotifyConfig, PagerDutySink


@dataclass(frozen=True, slots=True)
class UnservedPages:
    """Pages of ``team`` at ``severity`` that no sink delivers."""

    team: str
    severity: Severity

    def line(self) -> str:
        return (
            f"{self.team} is paged at {self.severity.value} and no sink delivers that: route "
            f"the team in a sink whose min_severity is {self.severity.value} or lower"
        )


@dataclass(frozen=True, slots=True)
class UnknownTeam:
    """A team ``sink`` names that the policy never routes an escalation to."""

    sink: str
    team: str

    def line(self) -> str:
        return (
            f"sink {self.sink} names team {self.team}, which the policy never routes to: "
            "correct the name or remove it"
        )


@dataclass(frozen=True, slots=True)
class PagerBelowPaging:
    """A PagerDuty sink whose ``min_severity`` lets through severities that page nobody.

    PagerDuty opens an incident for every event it receives, so such a sink pages for
    warnings, a backlog's incidents held back as decided too late to page among them.
    Some teams want warnings as low-urgency incidents, so this is a note, not a problem.
    """

    sink: str
    severity: Severity

    def line(self) -> str:
        return (
            f"sink {self.sink} is a pager and delivers {self.severity.value} and above, "
            "which page nobody elsewhere (held-back backlog incidents among them): set its "
            "min_severity to error unless the team wants those as PagerDuty incidents"
        )


def unserved_pages(
    config: NotifyConfig, paging: Mapping[str, frozenset[Severity]]
) -> list[UnservedPages]:
    """Each paging team and severity that no sink both serves and lets through."""
    return [
        UnservedPages(team, severity)
        for team, severities in sorted(paging.items())
        for severity in sorted(severities, key=lambda s: s.rank, reverse=True)
        if not any(
            sink.delivers_to(team) and sink.min_severity.rank <= severity.rank
            for sink in config.sinks
        )
    ]


def unknown_teams(config: NotifyConfig, teams: frozenset[str]) -> list[UnknownTeam]:
    """Teams named in the sinks file that are not among the policy's ``teams``."""
    return [
        UnknownTeam(sink.name, team)
        for sink in config.sinks
        for team in sorted(sink.named_teams or ())
        if team not in teams
    ]


def pagers_below_paging(config: NotifyConfig) -> list[PagerBelowPaging]:
    """PagerDuty sinks that deliver a severity below the ones that page a person."""
    return [
        PagerBelowPaging(sink.name, sink.min_severity)
        for sink in config.sinks
        if isinstance(sink, PagerDutySink) and not sink.min_severity.pages
    ]
