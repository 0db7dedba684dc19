"""Tests for models/report.py: the ReportEvent v1 contract as a Python object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from models.report import (
    SCHEMA_VERSION,
    Category,
    MediaType,
    ReporterInfo,
    ReportEvent,
)


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": 1,
        "report_id": "r-1",
        "broadcast_id": "b-1",
        "reporter_id": "u-1",
        "category": "spam",
        "reported_at": "2026-11-26T12:00:00Z",
    }
    base.update(changes)
    return base


def test_report_schema_version_is_one() -> None:
    assert SCHEMA_VERSION == 1


def test_report_category_values_are_the_twelve_documented_ones() -> None:
    assert {c.value for c in Category} == {
        "child_safety",
        "violent_extremism",
        "violent_threat",
        "graphic_violence",
        "self_harm",
        "adult_content",
        "hateful_conduct",
        "harassment",
        "private_info",
        "spam",
        "copyright",
        "other",
    }


def test_report_event_time_is_unix_seconds_of_reported_at() -> None:
    event = ReportEvent.model_validate(payload(reported_at="2000-01-01T01:00:30+01:00"))
    assert event.event_time == 946_684_800 + 30.0  # 2000-01-01T00:00:00Z is 946,684,800


@pytest.mark.parametrize("reported_at", ["1999-12-31T23:59:59Z", "2100-01-01T00:00:01Z"])
def test_report_event_time_outside_the_plausible_range_is_refused(reported_at: str) -> None:
    with pytest.raises(ValidationError, match="between 2000-01-01 and 2100-01-01"):
        ReportEvent.model_validate(payload(reported_at=reported_at))


def test_report_accepts_an_aware_datetime_object() -> None:
    moment = datetime(2026, 11, 26, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    event = ReportEvent.model_validate(payload(reported_at=moment))
    assert event.event_time == datetime(2026, 11, 26, 17, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 11, 26, 12, 0), 1764158400, 1764158400.0, "2026-11-26T12:00:00", None],
    ids=["naive_datetime", "int", "float", "no_offset", "null"],
)
def test_report_refuses_timestamps_without_an_explicit_offset(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ReportEvent.model_validate(payload(reported_at=value))
    assert caught.value.errors()[0]["loc"] == ("reported_at",)


def test_report_unknown_category_becomes_other_with_a_flag() -> None:
    event = ReportEvent.model_validate(payload(category="SPAM"))  # case matters
    assert event.category is Category.OTHER
    assert event.category_was_unknown


def test_report_known_category_is_not_flagged() -> None:
    event = ReportEvent.model_validate(payload(category="child_safety"))
    assert event.category is Category.CHILD_SAFETY
    assert not event.category_was_unknown


def test_report_unknown_flag_is_not_a_field_on_the_wire() -> None:
    event = ReportEvent.model_validate(payload(category="brand_new"))
    assert "category_was_unknown" not in event.model_dump()
    assert event.model_dump()["category"] == "other"


def test_report_defaults_media_type_to_live_video() -> None:
    assert ReportEvent.model_validate(payload()).media_type is MediaType.LIVE_VIDEO


def test_report_is_frozen() -> None:
    event = ReportEvent.model_validate(payload())
    with pytest.raises(ValidationError):
        event.report_id = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "reporter",
    [{"trust": -0.01}, {"trust": 1.01}, {"account_age_days": -1}],
    ids=["trust_below_zero", "trust_above_one", "negative_age"],
)
def test_reporter_info_refuses_out_of_range_values(reporter: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReporterInfo.model_validate(reporter)


def test_reporter_info_fields_are_all_optional() -> None:
    info = ReporterInfo.model_validate({})
    assert info == ReporterInfo(
        account_age_days=None, trust=None, trusted_flagger=None, was_viewing=None
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("region", "r" * 65),
        ("language", "l" * 36),
        ("broadcaster_id", ""),
        ("viewer_count", -5),
        ("media_type", "podcast"),
    ],
)
def test_report_refuses_out_of_bounds_optional_fields(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ReportEvent.model_validate(payload(**{field: value}))
    assert caught.value.errors()[0]["loc"][0] == field


def test_report_bounds_are_inclusive() -> None:
    event = ReportEvent.model_validate(
        payload(region="r" * 64, language="l" * 35, report_id="i" * 128, viewer_count=0)
    )
    assert event.viewer_count == 0
