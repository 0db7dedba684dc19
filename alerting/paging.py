"""Which teams a policy can page, and at which severities.

A page reaches a person only through a sink of ``spikewatch notify`` that serves its
team at its severity. A team the policy pages and no sink serves has its pages end on a
Kafka topic nobody reads; ``spikewatch check`` compares this with the sinks file before
a deployment does.

The severities follow the rules the detectors and the routing apply
(:mod:`alerting.detectors`, :mod:`alerting.routing`): a category fires at its
severity, a category of the credible-report rule at critical, a high-profile
broadcaster's abuse one level up on the high-profile team, each within the category's
ceiling; a region with a team of its own routes there. Coordinated reporting never
pages (the policy refuses a paging severity for it).
"""

from __future__ import annotations

from alerting.detectors import capped_severity, category_severity
from alerting.policy import Policy
from models.escalation import Severity
from models.report import Category


def paging_severities(policy: Policy) -> dict[str, frozenset[Severity]]:
    """Every team the policy can page, with the paging severities it can page it at."""
    found: dict[str, set[Severity]] = {}
    credible = set(policy.credible_report.categories)
    for category in Category:
        route = policy.category(category)
        fired = {category_severity(category, policy)}
        if category in credible:
            fired.add(capped_severity(Severity.CRITICAL, policy, category))
        for team in {route.team, *route.regional_teams.values()}:
            found.setdefault(team, set()).update(fired)
        raised = {capped_severity(severity.raised(), policy, category) for severity in fired}
        found.setdefault(policy.high_profile.team, set()).update(raised)
    return {
        team: frozenset(severity for severity in severities if severity.pages)
        for team, severities in sorted(found.items())
        if any(severity.pages for severity in severities)
    }
