"""Tests for models/fast_report.py: the fast path either defers or equals pydantic exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from models.decode import DEFAULT_MAX_MESSAGE_BYTES, decode_contract, decode_report
from models.fast_report import _WireReport, _WireReporter, fast_report
from models.report import (
    MAX_COMMENT_LENGTH,
    MAX_ID_LENGTH,
    MAX_LANGUAGE_LENGTH,
    MAX_REGION_LENGTH,
    MAX_VIEWER_COUNT,
    Category,
    ReporterInfo,
    ReportEvent,
)

_WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

_CATEGORIES = st.sampled_from([c.value for c in Category]) | st.text(max_size=12)

_PLAIN_REPORTER = st.fixed_dictionaries(
    {},
    optional={
        "account_age_days": st.integers(min_value=0, max_value=10_000) | st.none(),
        "trust": st.floats(min_value=0, max_value=1) | st.none(),
        "trusted_flagger": st.booleans() | st.none(),
        "was_viewing": st.booleans() | st.none(),
    },
)

_PLAIN = st.fixed_dictionaries(
    {
        "schema_version": st.just(1),
        "report_id": st.text(min_size=1, max_size=MAX_ID_LENGTH),
        "broadcast_id": st.text(min_size=1, max_size=MAX_ID_LENGTH),
        "reporter_id": st.text(min_size=1, max_size=MAX_ID_LENGTH),
        "category": _CATEGORIES,
        "reported_at": st.sampled_from(
            ["2026-11-26T12:00:07Z", "2026-11-26T12:00:07.5+01:00", "2031-01-02 03:04:05.123-07:30"]
        ),
    },
    optional={
        "broadcaster_id": st.text(min_size=1, max_size=MAX_ID_LENGTH) | st.none(),
        "platform": st.sampled_from(["twitter", "periscope"]) | st.none(),
        "media_type": st.sampled_from(["live_video", "video", "image"]),
        "viewer_count": st.integers(min_value=0, max_value=MAX_VIEWER_COUNT) | st.none(),
        "reporter": _PLAIN_REPORTER | st.none(),
        "region": st.text(max_size=MAX_REGION_LENGTH) | st.none(),
        "language": st.text(max_size=MAX_LANGUAGE_LENGTH) | st.none(),
        "comment": st.text(max_size=50) | st.none(),
        "unexpected": _WRONG_TYPES,
    },
)


_TIMES = st.one_of(
    st.from_regex(
        r"(1999|2000|2026|2099|2100|2101)-(0[1-9]|1[0-3])-(0[1-9]|[12]\d|3[01])"
        r"[Tt ]([01]\d|2[0-4]):[0-5]\d:[0-6]\d(\.\d{1,10})?([Zz]|[+-](0\d|1\d|2[0-4]):[0-5]\d)?",
        fullmatch=True,
    ),
    st.sampled_from(
        [
            "2026-11-26T12:00:07Z",
            "2026-11-26T12:00:07.123456789+01:00",
            "1999-12-31T23:30:00-01:00",
            "2100-01-01T00:00:00Z",
            "2100-01-01T00:30:00+01:00",
            "2026-02-30T00:00:00Z",
            "2026-11-26",
            "1795651359",
        ]
    ),
)

_NEAR_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "schema_version": st.sampled_from([2, 1.0, True, "1"]),
    "report_id": st.sampled_from(["", "x" * MAX_ID_LENGTH, "x" * (MAX_ID_LENGTH + 1)]),
    "reporter_id": st.sampled_from(["", "😀" * MAX_ID_LENGTH, "😀" * (MAX_ID_LENGTH + 1)]),
    "category": st.text(max_size=12) | st.sampled_from(["SPAM", "spam "]),
    "reported_at": _TIMES,
    "platform": st.sampled_from(["tiktok", "Twitter"]),
    "media_type": st.sampled_from(["gif", None]),
    "viewer_count": st.sampled_from([-1, MAX_VIEWER_COUNT, MAX_VIEWER_COUNT + 1, 2**64, 3.0]),
    "region": st.sampled_from(["", "r" * MAX_REGION_LENGTH, "r" * (MAX_REGION_LENGTH + 1)]),
    "language": st.sampled_from(["l" * MAX_LANGUAGE_LENGTH, "l" * (MAX_LANGUAGE_LENGTH + 1)]),
    "comment": st.sampled_from(["c" * MAX_COMMENT_LENGTH, "c" * (MAX_COMMENT_LENGTH + 1)]),
    "reporter": st.sampled_from([[], "reporter", {"extra": 1}]),
}
_NEAR_REPORTER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "account_age_days": st.sampled_from([-1, 0, 2**65, 1.0, "7"]),
    "trust": st.sampled_from([-0.0, 0, 1, -0.1, 1.0000001, 1e-320, 2**70, "0.5"]),
    "trusted_flagger": st.sampled_from([0, 1, "true", "no", 1.0]),
    "was_viewing": st.sampled_from([0, 1, "false", "yes"]),
}


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A plainly valid report with a few fields dropped, retyped or pushed to a limit."""
    payload = draw(_PLAIN)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.sampled_from(sorted(_NEAR_VALUES)))
        change = draw(st.sampled_from(["drop", "wrong", "near", "near"]))
        if change == "drop":
            payload.pop(name, None)
        elif change == "wrong":
            payload[name] = draw(_WRONG_TYPES)
        else:
            payload[name] = draw(_NEAR_VALUES[name])
    reporter = payload.get("reporter")
    if isinstance(reporter, dict) and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(_NEAR_REPORTER_VALUES)))
        reporter[name] = draw(_NEAR_REPORTER_VALUES[name] | _WRONG_TYPES)
    return payload


def assert_identical(fast: BaseModel, slow: BaseModel) -> None:
    """Equal values of equal types, the same fields set, private and extra state."""
    assert type(fast) is type(slow)
    assert fast == slow
    assert repr(fast) == repr(slow)  # types show: 1 vs 1.0, TzInfo vs timezone
    assert list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.__pydantic_private__ == slow.__pydantic_private__
    assert fast.__pydantic_extra__ == slow.__pydantic_extra__
    for name, value in slow.__dict__.items():
        assert type(fast.__dict__[name]) is type(value)
        if isinstance(value, BaseModel):
            assert_identical(fast.__dict__[name], value)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=near_valid(), ensure_ascii=st.booleans())
def test_fast_path_defers_or_builds_exactly_what_pydantic_builds(
    payload: dict[str, Any], ensure_ascii: bool
) -> None:
    raw = json.dumps(payload, ensure_ascii=ensure_ascii).encode()
    fast = fast_report(raw)
    pydantic_only = decode_contract(raw, ReportEvent, "reported_at", DEFAULT_MAX_MESSAGE_BYTES)
    decoded = decode_report(raw)
    if fast is not None:
        assert isinstance(pydantic_only, ReportEvent)
        assert_identical(fast, pydantic_only)
        assert fast.category_was_unknown == pydantic_only.category_was_unknown
        assert fast.event_time == pydantic_only.event_time
    if isinstance(pydantic_only, ReportEvent):
        assert isinstance(decoded, ReportEvent)
        assert_identical(decoded, pydantic_only)
    else:
        assert decoded == pydantic_only  # the same Rejection, reason and detail


@settings(max_examples=1000, deadline=None)
@given(payload=_PLAIN)
def test_fast_path_takes_every_plainly_typed_valid_report(payload: dict[str, Any]) -> None:
    raw = json.dumps(payload).encode()
    fast = fast_report(raw)
    assert fast is not None
    assert_identical(fast, ReportEvent.model_validate_json(raw))


def test_fast_path_knows_every_field_of_the_contract_in_order() -> None:
    assert list(_WireReport.__struct_fields__) == list(ReportEvent.model_fields)
    assert list(_WireReporter.__struct_fields__) == list(ReporterInfo.model_fields)


def test_fast_path_marks_an_unknown_category_as_other() -> None:
    raw = json.dumps(
        {
            "schema_version": 1,
            "report_id": "r",
            "broadcast_id": "b",
            "reporter_id": "u",
            "category": "brand_new_category",
            "reported_at": "2026-11-26T12:00:07Z",
        }
    ).encode()
    fast = fast_report(raw)
    assert fast is not None
    assert fast.category is Category.OTHER
    assert fast.category_was_unknown


def test_fast_path_leaves_coercible_values_to_pydantic() -> None:
    base = {
        "schema_version": 1,
        "report_id": "r",
        "broadcast_id": "b",
        "reporter_id": "u",
        "category": "spam",
        "reported_at": "2026-11-26T12:00:07Z",
    }
    for changes in (
        {"schema_version": True},
        {"viewer_count": 5.0},
        {"viewer_count": "5"},
        {"reporter": {"trusted_flagger": "true"}},
        {"reporter": {"account_age_days": 1.0}},
    ):
        raw = json.dumps({**base, **changes}).encode()
        assert fast_report(raw) is None
        assert isinstance(decode_report(raw), ReportEvent)


@pytest.mark.parametrize(
    "reported_at",
    [
        "2000-01-01T00:00:00Z",
        "2000-01-01T00:00:00+00:01",
        "1999-12-31T23:59:59-00:01",
        "2001-01-01T00:00:00+23:59",
        "2098-12-31T23:59:59.999-23:59",
        "2099-12-31T23:59:59-23:59",
        "2100-01-01T00:00:00Z",
        "2100-01-01T00:00:00-00:01",
        "2100-01-01T00:59:00+01:00",
    ],
)
def test_fast_path_takes_a_time_at_the_plausible_bounds_only_when_pydantic_does(
    reported_at: str,
) -> None:
    """The bounds' years are where comparing the year alone would be wrong."""
    raw = json.dumps(
        {
            "schema_version": 1,
            "report_id": "r",
            "broadcast_id": "b",
            "reporter_id": "u",
            "category": "spam",
            "reported_at": reported_at,
        }
    ).encode()
    pydantic_only = decode_contract(raw, ReportEvent, "reported_at", DEFAULT_MAX_MESSAGE_BYTES)
    fast = fast_report(raw)
    assert (fast is not None) == isinstance(pydantic_only, ReportEvent)
    if fast is not None:
        assert_identical(fast, pydantic_only)  # type: ignore[arg-type]
