"""Tests for models/dead_letter.py: the DeadLetter v1 contract."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from models.dead_letter import DeadLetter, DeadLetterReason


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
    assert len(values) == len(set(values)) == 9
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
