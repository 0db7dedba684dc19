"""Size bounds of the records spikewatch writes, derived from Kafka's limits.

Why this exists: a record larger than its topic's ``max.message.bytes`` (or the
producer's ``max_request_size``) is refused for good, and a worker that cannot
write what one input caused must not stop on it (issue 14: a ~900 KB report
whose dead letter did not fit crash-looped the worker). Each writer sizes its
records against the *value budget* computed here, so what it writes fits by
construction; the shell learns the limit from the broker (or Settings) at start.

Kafka's record format v2 frames every record in a batch: the batch header and
each record's own framing (lengths, attributes, timestamp and offset deltas, as
varints) count towards the limit together with the key and the value. The
figures below are those of the format (``DefaultRecordBatch`` in Kafka and in
aiokafka); a record alone in its batch is the worst case we size for.
"""

from __future__ import annotations

RECORD_BATCH_HEADER_BYTES = 61
"""Fixed header of a v2 record batch (base offset to record count)."""
MAX_RECORD_FRAMING_BYTES = 21
"""A record's length, attributes, timestamp delta and offset delta varints at their widest."""
MAX_VARINT_BYTES = 5
"""A key's or a value's length varint at its widest (lengths below 2 GiB)."""
RECORD_OVERHEAD_BYTES = (
    RECORD_BATCH_HEADER_BYTES + MAX_RECORD_FRAMING_BYTES + 2 * MAX_VARINT_BYTES + 1
)
"""Everything in a one-record batch besides key and value bytes (the last byte: no headers)."""

DEFAULT_BROKER_MAX_MESSAGE_BYTES = 1_048_588
"""Kafka's default ``message.max.bytes``, the limit of a topic that does not set its own."""
DEFAULT_PRODUCER_MAX_REQUEST_BYTES = 1_000_000
"""Faust's default ``producer_max_request_size``: what the worker's producer sends at most."""

MIN_RECORD_LIMIT_BYTES = 16 * 1024
"""Below this a dead letter's envelope (reason, position, detail) could not fit."""


def record_limit(topic_max_message_bytes: int, producer_max_request_bytes: int) -> int:
    """The size a record of a topic may have: what both the broker and our producer accept."""
    return min(topic_max_message_bytes, producer_max_request_bytes)


def record_size(key: bytes | None, value: bytes | None) -> int:
    """Upper bound of the bytes a record takes against the limit, alone in its batch."""
    return RECORD_OVERHEAD_BYTES + len(key or b"") + len(value or b"")


def value_budget(limit: int, key: bytes | None) -> int:
    """Most value bytes a record with ``key`` may carry under ``limit`` (negative: none fit)."""
    return limit - RECORD_OVERHEAD_BYTES - len(key or b"")


def fits(limit: int, key: bytes | None, value: bytes | None) -> bool:
    return record_size(key, value) <= limit
