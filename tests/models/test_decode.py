"""Tests for models/decode.py: raw bytes in, a ReportEvent or a precise Rejection out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.dead_letter import DeadLetter, DeadLetterReason
from models.decode import DEFAULT_MAX_MESSAGE_BYTES, Rejection, decode_report
from models.report import MAX_COMMENT_LENGTH, MAX_ID_LENGTH, Category, ReportEvent

REQUIRED_FIELDS = (
    "schema_version",
    "report_id",
    "broadcast_id",
    "reporter_id",
    "category",
    "reported_at",
)


def valid_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "schema_version": 1,
        "report_id": "report-1",
        "broadcast_id": "broadcast-1",
        "reporter_id": "viewer-1",
        "category": "harassment",
        "reported_at": "2026-11-26T12:00:07+01:00",
        "broadcaster_id": "owner-1",
        "platform": "periscope",
        "media_type": "live_video",
        "viewer_count": 1234,
        "reporter": {
            "account_age_days": 400,
            "trust": 0.9,
            "trusted_flagger": False,
            "was_viewing": True,
        },
        "region": "FR",
        "language": "fr-FR",
        "comment": "shouting slurs at the chat",
    }
    payload.update(changes)
    return payload


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def without(field: str) -> dict[str, Any]:
    payload = valid_payload()
    del payload[field]
    return payload


def assert_good_rejection(result: ReportEvent | Rejection) -> Rejection:
    assert isinstance(result, Rejection)
    assert isinstance(result.reason, DeadLetterReason)
    assert result.detail.strip()
    assert len(result.detail.splitlines()) == 1
    # every rejection must fit the dead-letter contract
    DeadLetter(
        reason=result.reason,
        detail=result.detail,
        source_topic="broadcast-reports",
        source_partition=0,
        source_offset=0,
        payload_base64="",
        payload_size=0,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return result


def assert_decodes_or_rejects(result: ReportEvent | Rejection) -> None:
    if isinstance(result, ReportEvent):
        return
    assert_good_rejection(result)


# --- valid reports -----------------------------------------------------------------------


def test_decode_valid_report() -> None:
    result = decode_report(encode(valid_payload()))
    assert isinstance(result, ReportEvent)
    assert result.category is Category.HARASSMENT
    assert result.category_was_unknown is False
    assert result.viewer_count == 1234
    assert result.reporter is not None
    assert result.reporter.trust == 0.9
    # 12:00:07 at +01:00 is 11:00:07 UTC
    assert result.event_time == datetime(2026, 11, 26, 11, 0, 7, tzinfo=UTC).timestamp()


def test_decode_minimal_report_fills_defaults() -> None:
    payload = {field: valid_payload()[field] for field in REQUIRED_FIELDS}
    result = decode_report(encode(payload))
    assert isinstance(result, ReportEvent)
    assert result.media_type.value == "live_video"
    assert result.reporter is None
    assert result.viewer_count is None


def test_decode_unknown_category_becomes_other_and_is_flagged() -> None:
    result = decode_report(encode(valid_payload(category="deepfake_impersonation")))
    assert isinstance(result, ReportEvent)
    assert result.category is Category.OTHER
    assert result.category_was_unknown is True


def test_decode_other_category_sent_as_other_is_not_flagged_unknown() -> None:
    result = decode_report(encode(valid_payload(category="other")))
    assert isinstance(result, ReportEvent)
    assert result.category_was_unknown is False


def test_decode_ignores_unknown_extra_fields() -> None:
    payload = valid_payload(future_field={"nested": [1, 2]}, another=3)
    payload["reporter"] = {**payload["reporter"], "reputation_v2": 17}
    result = decode_report(encode(payload))
    assert isinstance(result, ReportEvent)
    assert result == decode_report(encode(valid_payload()))


def test_decode_round_trips_a_decoded_report() -> None:
    event = decode_report(encode(valid_payload()))
    assert isinstance(event, ReportEvent)
    again = decode_report(event.model_dump_json().encode())
    assert again == event


def test_decode_accepts_a_message_of_exactly_the_limit() -> None:
    data = encode(valid_payload())
    assert isinstance(decode_report(data, max_bytes=len(data)), ReportEvent)


# --- each dead-letter reason is reachable -------------------------------------------------

CASES: list[tuple[str, bytes | None, DeadLetterReason]] = [
    ("too_large", encode(valid_payload(comment="x" * 1999)), DeadLetterReason.TOO_LARGE),
    ("not_utf8", b'{"schema_version": 1, "report_id": "\xff\xfe"}', DeadLetterReason.NOT_UTF8),
    ("not_utf8_lone_continuation", b"\x80", DeadLetterReason.NOT_UTF8),
    ("not_json_truncated", encode(valid_payload())[:-1], DeadLetterReason.NOT_JSON),
    ("not_json_text", b"hello", DeadLetterReason.NOT_JSON),
    ("not_json_empty", b"", DeadLetterReason.NOT_JSON),
    ("not_json_tombstone", None, DeadLetterReason.NOT_JSON),
    ("not_an_object_list", b"[1, 2, 3]", DeadLetterReason.NOT_AN_OBJECT),
    ("not_an_object_string", b'"report"', DeadLetterReason.NOT_AN_OBJECT),
    ("not_an_object_number", b"42", DeadLetterReason.NOT_AN_OBJECT),
    ("not_an_object_null", b"null", DeadLetterReason.NOT_AN_OBJECT),
    (
        "schema_version_2",
        encode(valid_payload(schema_version=2)),
        DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
    ),
    (
        "schema_version_string",
        encode(valid_payload(schema_version="1")),
        DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
    ),
    (
        "schema_version_null",
        encode(valid_payload(schema_version=None)),
        DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
    ),
    ("empty_object", b"{}", DeadLetterReason.MISSING_FIELD),
    *[
        (f"missing_{field}", encode(without(field)), DeadLetterReason.MISSING_FIELD)
        for field in REQUIRED_FIELDS
    ],
    ("empty_report_id", encode(valid_payload(report_id="")), DeadLetterReason.INVALID_FIELD),
    (
        "long_reporter_id",
        encode(valid_payload(reporter_id="u" * (MAX_ID_LENGTH + 1))),
        DeadLetterReason.INVALID_FIELD,
    ),
    ("numeric_broadcast_id", encode(valid_payload(broadcast_id=7)), DeadLetterReason.INVALID_FIELD),
    ("category_not_a_string", encode(valid_payload(category=5)), DeadLetterReason.INVALID_FIELD),
    ("negative_viewers", encode(valid_payload(viewer_count=-1)), DeadLetterReason.INVALID_FIELD),
    ("unknown_platform", encode(valid_payload(platform="myspace")), DeadLetterReason.INVALID_FIELD),
    (
        "trust_above_one",
        encode(valid_payload(reporter={"trust": 1.5})),
        DeadLetterReason.INVALID_FIELD,
    ),
    (
        "long_comment",
        encode(valid_payload(comment="c" * (MAX_COMMENT_LENGTH + 1))),
        DeadLetterReason.INVALID_FIELD,
    ),
    (
        "timestamp_without_offset",
        encode(valid_payload(reported_at="2026-11-26T12:00:00")),
        DeadLetterReason.BAD_TIMESTAMP,
    ),
    (
        "timestamp_date_only",
        encode(valid_payload(reported_at="2026-11-26")),
        DeadLetterReason.BAD_TIMESTAMP,
    ),
    (
        "timestamp_words",
        encode(valid_payload(reported_at="yesterday at noon")),
        DeadLetterReason.BAD_TIMESTAMP,
    ),
    (
        "timestamp_bad_month",
        encode(valid_payload(reported_at="2026-13-01T00:00:00Z")),
        DeadLetterReason.BAD_TIMESTAMP,
    ),
    (
        "timestamp_unix_number",
        encode(valid_payload(reported_at=1764158400)),
        DeadLetterReason.BAD_TIMESTAMP,
    ),
    ("timestamp_null", encode(valid_payload(reported_at=None)), DeadLetterReason.BAD_TIMESTAMP),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [pytest.param(p, r, id=case) for case, p, r in CASES]
)
def test_decode_rejects_with_reason(payload: bytes | None, reason: DeadLetterReason) -> None:
    max_bytes = 2048 if reason is DeadLetterReason.TOO_LARGE else DEFAULT_MAX_MESSAGE_BYTES
    rejection = assert_good_rejection(decode_report(payload, max_bytes=max_bytes))
    assert rejection.reason is reason


def test_decode_reaches_every_input_reason() -> None:
    reached = {reason for _, _, reason in CASES}
    # EVENT_TIME_OUT_OF_RANGE belongs to admission, OUTPUT_REFUSED to the writer
    assert reached == set(DeadLetterReason) - {
        DeadLetterReason.EVENT_TIME_OUT_OF_RANGE,
        DeadLetterReason.OUTPUT_REFUSED,
    }


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_decode_missing_field_detail_names_the_field(field: str) -> None:
    rejection = assert_good_rejection(decode_report(encode(without(field))))
    assert rejection.detail.startswith(field)


def test_decode_invalid_nested_field_detail_names_the_path() -> None:
    rejection = assert_good_rejection(decode_report(encode(valid_payload(reporter={"trust": 2}))))
    assert "reporter.trust" in rejection.detail


def test_decode_too_large_detail_gives_both_sizes() -> None:
    data = encode(valid_payload())
    rejection = assert_good_rejection(decode_report(data, max_bytes=100))
    assert str(len(data)) in rejection.detail
    assert "100" in rejection.detail


def test_decode_default_limit_is_64_kib() -> None:
    data = b"{" + b" " * (64 * 1024) + b"}"
    rejection = assert_good_rejection(decode_report(data))
    assert rejection.reason is DeadLetterReason.TOO_LARGE


@pytest.mark.parametrize("reporter", [[1], "trusted", 5])
def test_decode_nested_field_of_wrong_type_is_an_invalid_field(reporter: Any) -> None:
    rejection = assert_good_rejection(decode_report(encode(valid_payload(reporter=reporter))))
    assert rejection.detail.startswith("reporter")
    assert rejection.reason is DeadLetterReason.INVALID_FIELD


@pytest.mark.parametrize("value", ["1764158400", "1764158400000", "1764158400.5"])
def test_decode_rejects_unix_time_in_a_string(value: str) -> None:
    result = decode_report(encode(valid_payload(reported_at=value)))
    assert isinstance(result, Rejection)
    assert result.reason is DeadLetterReason.BAD_TIMESTAMP


# --- properties --------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=25,
)
FIELD_NAMES = st.sampled_from(
    [*REQUIRED_FIELDS, "viewer_count", "reporter", "platform", "media_type", "comment", "region"]
)


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=300))
def test_decode_never_raises_on_arbitrary_bytes(payload: bytes) -> None:
    assert_decodes_or_rejects(decode_report(payload))


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES)
def test_decode_never_raises_on_arbitrary_json(value: Any) -> None:
    result = decode_report(encode(value))
    assert_decodes_or_rejects(result)
    if not isinstance(value, dict):
        assert isinstance(result, Rejection)
        assert result.reason is DeadLetterReason.NOT_AN_OBJECT


@settings(max_examples=400, deadline=None)
@given(field=FIELD_NAMES, value=JSON_VALUES)
def test_decode_never_raises_when_one_field_is_replaced(field: str, value: Any) -> None:
    assert_decodes_or_rejects(decode_report(encode(valid_payload(**{field: value}))))


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, cut=st.integers(min_value=0, max_value=400))
def test_decode_never_raises_on_truncated_json(value: Any, cut: int) -> None:
    data = encode(valid_payload(extra=value))
    assert_decodes_or_rejects(decode_report(data[: min(cut, len(data) - 1)]))


IDENTIFIERS = st.text(min_size=1, max_size=MAX_ID_LENGTH)
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
VALID_PAYLOADS = st.fixed_dictionaries(
    {
        "schema_version": st.just(1),
        "report_id": IDENTIFIERS,
        "broadcast_id": IDENTIFIERS,
        "reporter_id": IDENTIFIERS,
        "category": st.sampled_from([c.value for c in Category]),
        "reported_at": st.builds(
            lambda moment, offset: moment.replace(tzinfo=offset).isoformat(),
            st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),
            OFFSETS,
        ),
    },
    optional={
        "viewer_count": st.integers(min_value=0, max_value=10**9),
        "platform": st.sampled_from(["twitter", "periscope"]),
        "media_type": st.sampled_from(["live_video", "video", "image"]),
        "reporter": st.fixed_dictionaries(
            {},
            optional={
                "account_age_days": st.integers(min_value=0, max_value=10_000),
                "trust": st.floats(min_value=0.0, max_value=1.0),
                "trusted_flagger": st.booleans(),
                "was_viewing": st.booleans(),
            },
        ),
        "region": st.text(max_size=64),
        "comment": st.text(max_size=200),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=VALID_PAYLOADS)
def test_decode_valid_reports_round_trip(payload: dict[str, Any]) -> None:
    event = decode_report(encode(payload))
    assert isinstance(event, ReportEvent), event
    assert event.report_id == payload["report_id"]
    assert event.category.value == payload["category"]
    assert event.event_time == datetime.fromisoformat(payload["reported_at"]).timestamp()
    assert decode_report(event.model_dump_json().encode()) == event
