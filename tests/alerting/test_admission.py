"""Tests for alerting/admission.py: event times from the future are refused, and a
broadcast whose clock runs far behind its records keeps its timers on its own clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.admission import broadcast_clock, event_time_rejection
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


@pytest.mark.parametrize(
    ("watermark", "record_clock", "clock"),
    [
        (800.0, 2000.0, 800.0),
        (1990.0, 2000.0, 2000.0),
        (1940.0, 2000.0, 2000.0),
        (1939.0, 2000.0, 1939.0),
        (None, 2000.0, 2000.0),
        (800.0, None, 2000.0),
    ],
    ids=[
        "twenty minutes behind its records",
        "a delivery seconds late",
        "at the lateness",
        "just past it",
        "no report yet",
        "no record time (a log without them)",
    ],
)
def test_a_broadcast_far_behind_its_records_runs_its_timers_on_its_own_clock(
    watermark: float | None, record_clock: float | None, clock: float
) -> None:
    assert broadcast_clock(2000.0, watermark, record_clock, lateness=60.0) == clock
