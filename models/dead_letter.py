"""DeadLetter v1: an input message spikewatch refused, with the reason.

Written to ``<input topic>.dlq`` with the original Kafka key. The original value
is kept byte for byte (base64), so an operator can fix and re-publish it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1


class DeadLetterReason(StrEnum):
    """Reason classes; a fixed enum so the metric label stays low-cardinality."""

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    BAD_TIMESTAMP = "bad_timestamp"
    EVENT_TIME_OUT_OF_RANGE = "event_time_out_of_range"


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    reason: DeadLetterReason
    detail: str = Field(max_length=1000, description="First validation error, one line.")
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp_ms: int | None = None
    payload_base64: str = Field(description="The original message value, base64.")
    payload_size: int
    failed_at: AwareDatetime
