"""DeadLetter v1: a message spikewatch refused, with the reason.

Written to ``<input topic>.dlq`` with the original Kafka key. The original value
is kept byte for byte (base64), so an operator can fix and re-publish it, as far
as the dead-letter topic's record limit allows: a value whose dead letter would
not fit keeps its first bytes only, with ``payload_truncated`` set, and
``payload_size`` and ``payload_sha256`` still describe the whole of it. A dead
letter that did not fit would be refused by the broker, and the worker could
neither record nor skip the message (see :mod:`models.bounds`).

Still v1: ``payload_truncated``, ``payload_sha256`` and the reason
``output_refused`` were added later, as optional fields with defaults and one
more enum value; a v1 reader ignoring unknown fields keeps working, and readers
must take an unknown ``reason`` as "some other reason" (new reasons may come
within v1).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.bounds import value_budget

SCHEMA_VERSION: Literal[1] = 1
MAX_DETAIL_LENGTH = 1000
MAX_TOPIC_NAME_LENGTH = 249
"""Kafka's own limit on a topic name."""
MAX_KEY_BYTES = 1024
"""A refused message's key is kept up to this size (a real broadcast id is far shorter);
a longer one is replaced by ``sha256:<hex of the key>``, so the dead letter still fits."""


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
    OUTPUT_REFUSED = "output_refused"
    """A valid input whose output the broker refused for good (too large, not authorised,
    no such topic): kept here so the input is accounted for and the partition moves on."""


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    reason: DeadLetterReason
    detail: str = Field(max_length=MAX_DETAIL_LENGTH, description="First error, one line.")
    source_topic: Annotated[str, Field(max_length=MAX_TOPIC_NAME_LENGTH)]
    source_partition: int
    source_offset: int
    source_timestamp_ms: int | None = None
    payload_base64: str = Field(
        description="The original message value, base64; only its first bytes when "
        "payload_truncated."
    )
    payload_size: int = Field(description="Bytes of the whole original value.")
    payload_truncated: bool = Field(
        default=False,
        description="True when payload_base64 holds only a prefix: the whole value did not "
        "fit the dead-letter topic's record limit.",
    )
    payload_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the whole original value, hex (absent in old dead letters).",
    )
    failed_at: AwareDatetime

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The Kafka key a dead letter is written with: the original, unless it is oversized."""
    if key is None or len(key) <= MAX_KEY_BYTES:
        return key
    return b"sha256:" + hashlib.sha256(key).hexdigest().encode()


def fitted_dead_letter(
    *,
    reason: DeadLetterReason,
    detail: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    source_timestamp_ms: int | None,
    payload: bytes,
    failed_at: datetime,
    record_limit: int,
    key: bytes | None,
) -> DeadLetter:
    """A dead letter whose record (with ``dead_letter_key(key)``) fits ``record_limit``.

    The envelope is encoded once without the payload to learn its exact size; the
    payload is kept whole if its base64 fits beside it, else the longest prefix
    whose base64 does (base64 turns each 3 bytes into 4 characters).
    """
    letter = DeadLetter(
        reason=reason,
        detail=detail[:MAX_DETAIL_LENGTH],
        source_topic=source_topic[:MAX_TOPIC_NAME_LENGTH],
        source_partition=source_partition,
        source_offset=source_offset,
        source_timestamp_ms=source_timestamp_ms,
        payload_base64="",
        payload_size=len(payload),
        payload_truncated=False,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        failed_at=failed_at,
    )
    envelope = len(letter.to_json_bytes())
    room = value_budget(record_limit, dead_letter_key(key)) - envelope
    if room < 0:
        raise ValueError(
            f"a dead letter needs {envelope} bytes, the limit leaves {room + envelope}"
        )
    if 4 * -(-len(payload) // 3) <= room:
        kept, truncated = payload, False
    else:
        groups = min((room + 1) // 4, (len(payload) - 1) // 3)  # "true" is 1 byte below "false"
        kept, truncated = payload[: groups * 3], True
    return letter.model_copy(
        update={
            "payload_base64": base64.b64encode(kept).decode(),
            "payload_truncated": truncated,
        }
    )
