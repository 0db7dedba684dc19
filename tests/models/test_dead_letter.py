"""Tests for models/dead_letter.py: the DeadLetter v1 contract."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from models.bounds import (
    DEFAULT_BROKER_MAX_MESSAGE_BYTES,
    MIN_RECORD_LIMIT_BYTES,
    record_size,
)
from models.dead_letter import (
    MAX_KEY_BYTES,
    DeadLetter,
    DeadLetterReason,
    dead_letter_key,
    fitted_dead_letter,
)


def dead_letter(**changes: Any) -> DeadLetter:
    original = b'{"schema_version": 2}'
    fields: dict[str, Any] = {
        "reason": DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
        "detail": "schema_version: Input should be 1",
        "source_topic": "broadcast-reports",
        "source_partition": 3,
        "source_offset": 1234,
        "payload_base64": base64.b64encode(original).decode(),
        "payload_size": len(original),
        "failed_at": datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return DeadLetter(**fields)


def test_dead_letter_reasons_are_low_cardinality_snake_case_labels() -> None:
    values = [reason.value for reason in DeadLetterReason]
    assert len(values) == len(set(values)) == 10
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", value) for value in values)


def test_dead_letter_round_trips_through_json() -> None:
    letter = dead_letter()
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter


def test_dead_letter_keeps_the_original_payload_byte_for_byte() -> None:
    original = bytes(range(256))
    letter = dead_letter(
        payload_base64=base64.b64encode(original).decode(), payload_size=len(original)
    )
    restored = DeadLetter.model_validate_json(letter.model_dump_json())
    assert base64.b64decode(restored.payload_base64) == original


def test_dead_letter_detail_is_bounded() -> None:
    dead_letter(detail="d" * 1000)
    with pytest.raises(ValidationError):
        dead_letter(detail="d" * 1001)


def test_dead_letter_schema_version_is_one() -> None:
    assert dead_letter().schema_version == 1
    with pytest.raises(ValidationError):
        dead_letter(schema_version=2)


def test_dead_letter_source_timestamp_is_optional() -> None:
    assert dead_letter().source_timestamp_ms is None
    assert dead_letter(source_timestamp_ms=1).source_timestamp_ms == 1


LIMIT = DEFAULT_BROKER_MAX_MESSAGE_BYTES


def fitted(payload: bytes, key: bytes | None = b"broadcast-1", limit: int = LIMIT) -> DeadLetter:
    return fitted_dead_letter(
        reason=DeadLetterReason.TOO_LARGE,
        detail=f"message is {len(payload)} bytes, limit is 65536",
        source_topic="broadcast-reports",
        source_partition=3,
        source_offset=2**40,
        source_timestamp_ms=1_764_700_000_000,
        payload=payload,
        failed_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        record_limit=limit,
        key=key,
    )


@functools.cache
def whole_payload_limit(key: bytes | None = b"broadcast-1") -> int:
    """The largest payload a dead letter keeps whole (found by bisection)."""
    low, high = 0, LIMIT
    while low < high:
        middle = (low + high + 1) // 2
        if fitted(b"a" * middle, key).payload_truncated:
            high = middle - 1
        else:
            low = middle
    return low


def payload_sizes() -> list[int]:
    """Empty to beyond the broker's maximum, and each side of the whole-payload edge."""
    edge = whole_payload_limit()
    near_edge = [edge + offset for offset in range(-3, 4)]
    return [0, 1, 2, 3, 4, 1000, 65_536, 700_000, *near_edge, LIMIT - 1, LIMIT, 2 * LIMIT]


@pytest.mark.parametrize("size", payload_sizes())
def test_a_dead_letter_always_fits_its_record_limit(size: int) -> None:
    payload = bytes(number % 251 for number in range(size))
    letter = fitted(payload)
    encoded = letter.to_json_bytes()
    assert record_size(b"broadcast-1", encoded) <= LIMIT
    kept = base64.b64decode(letter.payload_base64)
    assert payload.startswith(kept)
    assert letter.payload_truncated is (len(kept) < len(payload))
    assert letter.payload_size == len(payload)
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert DeadLetter.model_validate_json(encoded) == letter
    if not letter.payload_truncated:
        assert size <= whole_payload_limit()
    elif len(kept) + 3 < len(payload):  # no room was left for one more base64 group
        assert record_size(b"broadcast-1", b"x" * (len(encoded) + 4)) > LIMIT


def test_a_whole_payload_takes_the_record_up_to_the_limit() -> None:
    edge = whole_payload_limit()
    letter = fitted(b"a" * edge)
    assert not letter.payload_truncated
    assert record_size(b"broadcast-1", letter.to_json_bytes()) > LIMIT - 4


def test_an_oversized_key_is_replaced_by_its_digest_and_the_letter_still_fits() -> None:
    key = b"k" * (2 * LIMIT)
    letter = fitted(b"v" * LIMIT, key)
    replaced = dead_letter_key(key)
    assert replaced == b"sha256:" + hashlib.sha256(key).hexdigest().encode()
    assert record_size(replaced, letter.to_json_bytes()) <= LIMIT
    assert dead_letter_key(b"k" * MAX_KEY_BYTES) == b"k" * MAX_KEY_BYTES
    assert dead_letter_key(None) is None


def test_the_widest_envelope_fits_the_smallest_limit_allowed() -> None:
    """Every text field at its longest, of characters JSON escapes to six bytes."""
    letter = fitted_dead_letter(
        reason=DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
        detail="\x00" * 5000,
        source_topic="t" * 249,
        source_partition=-(2**31),
        source_offset=-(2**63),
        source_timestamp_ms=-(2**63),
        payload=b"x" * LIMIT,
        failed_at=datetime(2026, 11, 26, 12, 0, 0, 999_999, tzinfo=UTC),
        record_limit=MIN_RECORD_LIMIT_BYTES,
        key=b"k" * MAX_KEY_BYTES,
    )
    assert record_size(b"k" * MAX_KEY_BYTES, letter.to_json_bytes()) <= MIN_RECORD_LIMIT_BYTES
    assert letter.payload_truncated


def test_a_limit_too_small_for_the_envelope_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="a dead letter needs"):
        fitted(b"", limit=200)


def test_old_dead_letters_without_the_new_fields_still_read() -> None:
    plain = dead_letter().model_dump(mode="json")
    del plain["payload_truncated"], plain["payload_sha256"]
    letter = DeadLetter.model_validate(plain)
    assert letter.payload_truncated is False
    assert letter.payload_sha256 is None
