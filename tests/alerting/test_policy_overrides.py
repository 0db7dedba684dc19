"""``--set KEY=VALUE``: one figure of the policy changed for a run, validated as the file is."""

from __future__ import annotations

import pytest

from alerting.policy import Policy, PolicyError
from alerting.policy_overrides import PolicyOverrideError, with_overrides
from models.report import Category


def test_an_override_changes_its_figure_alone_and_the_version_names_it(policy: Policy) -> None:
    changed = with_overrides(policy, ["ramp.threshold=11"])
    assert changed.ramp.threshold == 11.0
    assert changed.policy_version == f"{policy.policy_version}+ramp.threshold=11"
    unchanged = changed.model_dump(exclude={"policy_version", "ramp"})
    assert unchanged == policy.model_dump(exclude={"policy_version", "ramp"})
    assert changed.ramp.model_dump(exclude={"threshold"}) == policy.ramp.model_dump(
        exclude={"threshold"}
    )


def test_values_are_read_as_yaml_and_reach_a_category(policy: Policy) -> None:
    changed = with_overrides(
        policy,
        [
            "spike.trigger_p_value=1.0e-7",
            "learning.enabled=false",
            "categories.harassment.base_rate_per_viewer_second=4e-7",
        ],
    )
    assert changed.spike.trigger_p_value == 1e-7
    assert changed.learning.enabled is False
    assert changed.category(Category.HARASSMENT).base_rate_per_viewer_second == 4e-7


def test_no_override_is_the_policy_itself(policy: Policy) -> None:
    assert with_overrides(policy, []) is policy


def test_overrides_too_long_for_a_version_are_named_by_a_digest(policy: Policy) -> None:
    overrides = [f"categories.{c.value}.base_rate_per_viewer_second=1e-7" for c in Category]
    changed = with_overrides(policy, overrides)
    assert changed.policy_version.startswith(policy.policy_version[:20])
    assert "+set-" in changed.policy_version
    assert changed.policy_version != with_overrides(policy, overrides[:-1]).policy_version


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("ramp.threshhold=11", "the policy has no ramp.threshhold"),
        ("ramp.threshold", "not KEY=VALUE"),
        ("=11", "not KEY=VALUE"),
        ("ramp.threshold=[1", "the value is not YAML"),
        ("ramp.threshold=1", "ramp.threshold: Input should be greater than"),
        ("ramp.threshold.more=1", "the policy has no ramp.threshold.more"),
        ("categories.nope.severity=error", "the policy has no categories.nope"),
    ],
)
def test_an_override_the_policy_refuses_is_one_line_naming_it(
    policy: Policy, override: str, named: str
) -> None:
    with pytest.raises(PolicyOverrideError) as raised:
        with_overrides(policy, [override])
    assert isinstance(raised.value, PolicyError)
    line = raised.value.line()
    assert named in line
    assert "\n" not in line
    assert "KEY=VALUE" in raised.value.remedy
