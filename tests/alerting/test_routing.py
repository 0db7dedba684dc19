"""Routing: high-profile watchlist (one level up, own team) and follow-the-sun regional teams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.engine import DetectionEngine
from alerting.policy import Policy, PolicyError, load_policy
from alerting.state import BroadcastState
from alerting.watchlist import parse_watchlist, policy_watchlist
from models.escalation import Severity
from tests.alerting.helpers import HIGH_TRUST, burst
from tests.alerting.test_policy import default_document


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


def test_relative_watchlist_file_is_read_next_to_the_policy(tmp_path: Path) -> None:
    document = default_document()
    document["high_profile"] = {"team": "vip", "watchlist_file": "vip.txt", "broadcasters": ["a"]}
    (tmp_path / "vip.txt").write_text("b\nc\n", encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    policy = load_policy(path)
    assert policy_watchlist(policy) == frozenset({"a", "b", "c"})
    assert DetectionEngine(policy).watchlist == frozenset({"a", "b", "c"})


def test_missing_watchlist_file_fails_start_up_with_one_line(tmp_path: Path) -> None:
    document = default_document()
    document["high_profile"] = {"watchlist_file": "nowhere.txt"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        DetectionEngine(load_policy(path))
    assert "nowhere.txt" in str(error.value)
    assert "\n" not in str(error.value)
