"""Tests for alerting/limits.py: the largest state a policy allows, and the policy's refusal."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerting.detection_policy import WindowPolicy
from alerting.engine import DetectionEngine
from alerting.limits import (
    MAX_STATE_RECORD_BYTES,
    largest_state,
    largest_state_bytes,
    max_reporters_fitting,
)
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.report import Category
from tests.alerting.helpers import HIGH_TRUST, T0, TRUSTED_FLAGGER, make_report, with_changes


@pytest.mark.parametrize("cap", [10, 37, 500])
def test_the_bound_is_the_size_of_the_largest_state_exactly(cap: int) -> None:
    state = largest_state(cap, 300, 10)
    assert len(state.to_bytes()) == largest_state_bytes(cap, 300, 10)


def test_the_default_caps_in_every_category_fit_a_changelog_record(policy: Policy) -> None:
    window = policy.window
    state = largest_state(window.max_reporters_per_category, window.length_seconds, 10)
    encoded = state.to_bytes()
    assert all(
        w.distinct_reporters == window.max_reporters_per_category for w in state.windows.values()
    )
    assert len(state.windows) == len(Category)
    assert len(encoded) == largest_state_bytes(
        window.max_reporters_per_category, window.length_seconds, window.bucket_seconds
    )
    assert len(encoded) <= MAX_STATE_RECORD_BYTES
    restored = BroadcastState.from_bytes(encoded)
    assert restored.to_bytes() == encoded


def test_the_policy_accepts_the_highest_cap_that_fits_and_refuses_one_more() -> None:
    highest = max_reporters_fitting(MAX_STATE_RECORD_BYTES, 300, 10)
    assert largest_state_bytes(highest, 300, 10) <= MAX_STATE_RECORD_BYTES
    assert largest_state_bytes(highest + 1, 300, 10) > MAX_STATE_RECORD_BYTES
    WindowPolicy(max_reporters_per_category=highest)
    with pytest.raises(ValidationError, match=f"set it to {highest} or less"):
        WindowPolicy(max_reporters_per_category=highest + 1)


def test_finer_buckets_lower_the_cap_that_fits() -> None:
    assert max_reporters_fitting(MAX_STATE_RECORD_BYTES, 300, 0.001) < max_reporters_fitting(
        MAX_STATE_RECORD_BYTES, 300, 10
    )


def test_a_limit_below_the_empty_state_fits_no_reporter() -> None:
    assert max_reporters_fitting(1024, 300, 10) == 0


def test_states_the_engine_builds_stay_within_the_bound(policy: Policy) -> None:
    """Reports from many reporters in every category, past the cap, with every trust level,
    open incidents and long ids: the stored state never exceeds what the bound allows."""
    capped = with_changes(policy, window={"max_reporters_per_category": 10})
    engine = DetectionEngine(capped)
    state = BroadcastState("b" * 128)
    standings = [HIGH_TRUST, TRUSTED_FLAGGER, None]
    for number in range(300):
        category = list(Category)[number % len(Category)]
        engine.observe(
            state,
            make_report(
                f"reporter-{number}",
                at=T0 + number * 0.7391,
                category=category.value,
                reporter=standings[number % len(standings)],
                broadcast_id="b" * 128,
                report_id="r" * 120 + f"{number:08d}",
                region="x" * 64,
                viewers=5_000_000,
            ),
        )
    window = capped.window
    assert all(w.distinct_reporters == 10 for w in state.windows.values())
    assert state.incidents
    assert len(state.to_bytes()) <= largest_state_bytes(
        10, window.length_seconds, window.bucket_seconds
    )
