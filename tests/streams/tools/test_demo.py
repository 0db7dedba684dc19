"""The demo's policy: short enough to watch incidents resolve, valid as the worker needs."""

from __future__ import annotations

from alerting.policy import load_policy
from streams.tools.demo import DEMO_RESOLVE_SECONDS, demo_policy


def test_the_demo_policy_resolves_within_the_demo_and_outlasts_its_window() -> None:
    policy = demo_policy()
    window, lifecycle = policy.window, policy.lifecycle

    assert lifecycle.resolve_after_quiet_seconds + window.allowed_lateness_seconds == (
        DEMO_RESOLVE_SECONDS
    )
    assert DEMO_RESOLVE_SECONDS < 60
    assert window.length_seconds <= DEMO_RESOLVE_SECONDS
    assert policy.categories == load_policy().categories
