"""Routing: high-profile watchlist (one level up, own team, child safety excepted) and
follow-the-sun regional teams."""

from __future__ import annotations

from typing import Any

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from alerting.watchlist import parse_watchlist
from models.escalation import Severity
from models.escalation_v2 import EscalationV2
from tests.alerting.helpers import HIGH_TRUST, burst


def first_trigger(engine: DetectionEngine, **fields: Any) -> EscalationV2:
    state = BroadcastState("b-1")
    sent = [
        e
        for r in burst(6, reporter=HIGH_TRUST, **fields)
        for e in engine.observe(state, r).escalations
    ]
    return sent[0]


def test_watchlisted_broadcaster_goes_one_level_up_to_the_high_profile_team(policy: Policy) -> None:
    engine = DetectionEngine(policy, watchlist=frozenset({"owner-1"}))
    trigger = first_trigger(engine)
    assert trigger.severity is Severity.CRITICAL  # harassment is error
    assert trigger.labels.team == policy.high_profile.team


def test_watchlist_never_lifts_a_category_past_its_ceiling(policy: Policy) -> None:
    engine = DetectionEngine(policy, watchlist=frozenset({"owner-1"}))
    trigger = first_trigger(engine, category="spam")
    assert trigger.severity is Severity.WARNING


def test_child_safety_on_a_watchlisted_broadcaster_still_goes_to_its_own_team(
    policy: Policy,
) -> None:
    """``own_team``: only the child-safety team (for the broadcast's region) may handle the
    material and file the reports; the high-profile team would have to hand the page on."""
    engine = DetectionEngine(policy, watchlist=frozenset({"owner-1"}))
    trigger = first_trigger(engine, category="child_safety", region="apac")
    assert (trigger.severity, trigger.labels.team) == (Severity.CRITICAL, "child-safety-apac")
    assert first_trigger(engine, category="violent_extremism").labels.team == "high-profile"


def test_broadcaster_not_on_the_watchlist_is_routed_as_usual(policy: Policy) -> None:
    engine = DetectionEngine(policy, watchlist=frozenset({"someone-else"}))
    trigger = first_trigger(engine)
    assert (trigger.severity, trigger.labels.team) == (Severity.ERROR, "hate-harassment")


def test_region_picks_the_follow_the_sun_team(engine: DetectionEngine) -> None:
    assert first_trigger(engine, region="apac").labels.team == "hate-harassment-apac"
    assert first_trigger(engine, region="eu").labels.team == "hate-harassment"


def test_every_routed_team_has_a_topic(policy: Policy) -> None:
    assert {"hate-harassment-apac", "child-safety-apac", "high-profile"} <= policy.teams
    assert policy.coordination.team in policy.teams


def test_watchlist_file_ignores_comments_and_blank_lines() -> None:
    text = "# high profile\nowner-1\n\n  owner-2  # the big one\n#owner-3\n"
    assert parse_watchlist(text) == frozenset({"owner-1", "owner-2"})
