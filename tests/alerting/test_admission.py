"""Tests for alerting/admission.py: event times from the future are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.admission import event_time_rejection
from models.dead_letter import DeadLetterReason

NOW = 1_800_000_000.0
SKEW = 300.0


def test_far_future_event_is_rejected_as_out_of_range() -> None:
    rejection = event_time_rejection(NOW + 6 * 3600, NOW, SKEW)
    assert rejection is not None
    assert rejection.reason is DeadLetterReason.EVENT_TIME_OUT_OF_RANGE
    assert "21600" in rejection.detail  # how far ahead, in seconds
    assert "\n" not in rejection.detail


@pytest.mark.parametrize("ahead", [-86_400.0, -1.0, 0.0, 1.0, SKEW - 0.5, SKEW])
def test_event_within_the_skew_is_accepted(ahead: float) -> None:
    assert event_time_rejection(NOW + ahead, NOW, SKEW) is None


def test_event_just_beyond_the_skew_is_rejected() -> None:
    rejection = event_time_rejection(NOW + SKEW + 0.5, NOW, SKEW)
    assert rejection is not None
    assert rejection.reason is DeadLetterReason.EVENT_TIME_OUT_OF_RANGE


def test_zero_skew_rejects_any_future_event() -> None:
    assert event_time_rejection(NOW + 0.001, NOW, 0.0) is not None
    assert event_time_rejection(NOW, NOW, 0.0) is None


@settings(max_examples=300, deadline=None)
@given(
    ahead=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    skew=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
)
def test_rejection_happens_exactly_when_ahead_by_more_than_the_skew(
    ahead: float, skew: float
) -> None:
    rejection = event_time_rejection(NOW + ahead, NOW, skew)
    assert (rejection is not None) == ((NOW + ahead) - NOW > skew)
    if rejection is not None:
        assert rejection.detail
        assert "\n" not in rejection.detail
