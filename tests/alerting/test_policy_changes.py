"""What one policy changes against another: figures as validated, not the file's text."""

from __future__ import annotations

from typing import Any

from alerting.policy import Policy
from alerting.policy_changes import ABSENT, PolicyChange, policy_changes


def changed(policy: Policy, edit: Any) -> Policy:
    document = policy.model_dump(mode="json")
    edit(document)
    return Policy.model_validate(document)


def test_a_number_spelt_otherwise_and_a_default_written_out_change_nothing(
    policy: Policy,
) -> None:
    def respell(document: dict[str, Any]) -> None:
        document["spike"]["trigger_p_value"] = 0.000001
        document["credible_report"]["categories"].reverse()
        del document["history"]

    assert policy_changes(policy, changed(policy, respell)) == []


def test_each_figure_that_moved_is_one_change_under_its_dotted_key(policy: Policy) -> None:
    def tune(document: dict[str, Any]) -> None:
        document["ramp"]["threshold"] = 11.0
        document["categories"]["self_harm"]["regional_teams"] = {"eu": "wellbeing-eu"}
        document["categories"]["spam"]["base_rate_per_viewer_second"] = 1e-6

    assert policy_changes(policy, changed(policy, tune)) == [
        PolicyChange("categories.self_harm.regional_teams.eu", ABSENT, "wellbeing-eu"),
        PolicyChange("categories.spam.base_rate_per_viewer_second", 5e-7, 1e-6),
        PolicyChange("ramp.threshold", 10.0, 11.0),
    ]
    assert PolicyChange("ramp.threshold", 10.0, 11.0).line() == "ramp.threshold: 10.0 -> 11.0"


def test_the_version_is_not_a_figure(policy: Policy) -> None:
    def rename(document: dict[str, Any]) -> None:
        document["policy_version"] = "renamed-1"

    assert policy_changes(policy, changed(policy, rename)) == []
