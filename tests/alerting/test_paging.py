"""Which teams a policy pages: derived from the policy, held to what the engine sends."""

from __future__ import annotations

import itertools

import pytest

from alerting.engine import DetectionEngine
from alerting.paging import paging_severities
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import Severity
from models.report import Category
from tests.alerting.helpers import HIGH_TRUST, ORDINARY, burst

REGIONS = (None, "apac", "eu")


def paged_by_the_engine(policy: Policy) -> dict[str, set[Severity]]:
    """Every team and paging severity a burst of every category sends, by credible and by
    ordinary reporters, in every region, on an ordinary and a watchlisted broadcaster's
    broadcast."""
    paged: dict[str, set[Severity]] = {}
    for category, region, reporter, watchlist in itertools.product(
        Category, REGIONS, (HIGH_TRUST, ORDINARY), (frozenset(), frozenset({"owner-1"}))
    ):
        engine = DetectionEngine(policy, watchlist=watchlist)
        state = BroadcastState("b-1")
        for report in burst(8, reporter=reporter, category=category.value, region=region):
            for escalation in engine.observe(state, report).escalations:
                if escalation.severity.pages:
                    paged.setdefault(escalation.labels.team, set()).add(escalation.severity)
    return paged


def test_the_default_policy_pages_exactly_the_teams_and_severities_the_engine_sends(
    policy: Policy,
) -> None:
    derived = {team: set(severities) for team, severities in paging_severities(policy).items()}
    assert derived == paged_by_the_engine(policy)


def test_a_policy_that_moves_ceilings_regions_and_credible_categories_is_followed(
    policy: Policy,
) -> None:
    document = policy.model_dump(mode="json")
    categories = document["categories"]
    for name in ("violent_threat", "graphic_violence"):
        categories[name]["max_severity"] = "warning"
    categories["self_harm"]["regional_teams"] = {"eu": "wellbeing-eu"}
    document["credible_report"]["categories"] = ["child_safety", "harassment"]
    changed = Policy.model_validate(document)
    derived = paging_severities(changed)
    assert "violence" not in derived
    assert derived["wellbeing-eu"] == frozenset({Severity.ERROR})
    assert derived["hate-harassment"] == frozenset({Severity.ERROR, Severity.CRITICAL})
    assert {team: set(s) for team, s in derived.items()} == paged_by_the_engine(changed)


def test_a_watchlisted_broadcaster_is_paged_one_level_up_where_nothing_else_is_critical(
    policy: Policy,
) -> None:
    document = policy.model_dump(mode="json")
    for name in ("child_safety", "violent_extremism"):
        document["categories"][name].update(severity="error", max_severity="error")
    changed = Policy.model_validate(document)
    derived = paging_severities(changed)
    assert derived["child-safety"] == frozenset({Severity.ERROR})
    assert derived["high-profile"] == frozenset({Severity.ERROR, Severity.CRITICAL})
    assert {team: set(s) for team, s in derived.items()} == paged_by_the_engine(changed)


@pytest.mark.parametrize("team", ["general", "integrity", "integrity-coordination"])
def test_teams_that_only_ever_get_warnings_are_not_paging_teams(policy: Policy, team: str) -> None:
    assert team in policy.teams
    assert team not in paging_severities(policy)
