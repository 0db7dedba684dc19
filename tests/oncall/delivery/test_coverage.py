"""Whether a sinks file delivers every page a policy can send, and names only its teams."""

from __future__ import annotations

from collections.abc import Mapping

from models.escalation import Severity
from oncall.delivery.config import NotifyConfig
from oncall.delivery.coverage import (
    PagerBelowPaging,
    UnknownTeam,
    UnservedPages,
    pagers_below_paging,
    unknown_teams,
    unserved_pages,
)

PAGED = {
    "violence": frozenset({Severity.ERROR}),
    "child-safety": frozenset({Severity.CRITICAL}),
    "high-profile": frozenset({Severity.ERROR, Severity.CRITICAL}),
}


def config(*sinks: Mapping[str, object]) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {"version": 1, "sinks": list(sinks)}, context={"environ": {"KEY": "k" * 32}}
    )


def pagerduty(*teams: str, min_severity: str = "info") -> dict[str, object]:
    return {
        "name": "pagerduty",
        "type": "pagerduty",
        "min_severity": min_severity,
        "routes": {team: {"routing_key_env": "KEY"} for team in teams},
    }


ALERTMANAGER: dict[str, object] = {
    "name": "alertmanager",
    "type": "alertmanager",
    "url": "http://127.0.0.1:9093",
}


def test_a_sink_serving_every_team_leaves_no_page_unserved() -> None:
    assert unserved_pages(config(ALERTMANAGER), PAGED) == []


def test_a_team_no_sink_routes_is_unserved_at_every_severity_it_is_paged_at() -> None:
    assert unserved_pages(config(pagerduty("violence", "child-safety")), PAGED) == [
        UnservedPages("high-profile", Severity.CRITICAL),
        UnservedPages("high-profile", Severity.ERROR),
    ]


def test_a_sink_above_a_pages_severity_does_not_serve_it() -> None:
    only_critical = config(
        pagerduty("violence", "child-safety", "high-profile", min_severity="critical")
    )
    assert unserved_pages(only_critical, PAGED) == [
        UnservedPages("high-profile", Severity.ERROR),
        UnservedPages("violence", Severity.ERROR),
    ]
    assert "min_severity is error or lower" in UnservedPages("violence", Severity.ERROR).line()


def test_a_team_the_policy_never_routes_to_is_named_with_its_sink() -> None:
    teams = frozenset(PAGED) | {"general"}
    misspelt = config(ALERTMANAGER | {"teams": ["violence", "generl"]}, pagerduty("violance"))
    assert unknown_teams(misspelt, teams) == [
        UnknownTeam("alertmanager", "generl"),
        UnknownTeam("pagerduty", "violance"),
    ]
    assert unknown_teams(config(ALERTMANAGER), teams) == []


def test_a_pager_that_delivers_warnings_is_noted_and_one_at_error_is_not() -> None:
    warnings_too = config(pagerduty("violence", min_severity="warning"), ALERTMANAGER)
    assert pagers_below_paging(warnings_too) == [PagerBelowPaging("pagerduty", Severity.WARNING)]
    assert "set its min_severity to error" in PagerBelowPaging("pd", Severity.INFO).line()
    assert pagers_below_paging(config(pagerduty("violence", min_severity="error"))) == []
    assert pagers_below_paging(config(ALERTMANAGER)) == []
