"""Tests for models/bounds.py: record framing against Kafka's own record format."""

from __future__ import annotations

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from models.bounds import (
    DEFAULT_BROKER_MAX_MESSAGE_BYTES,
    DEFAULT_PRODUCER_MAX_REQUEST_BYTES,
    fits,
    record_limit,
    record_size,
    value_budget,
)


def batch_of_one(key: bytes | None, value: bytes | None) -> int:
    """Bytes of a real v2 record batch holding one record, as aiokafka builds it for the broker."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=2**62,
        producer_epoch=2**14,
        base_sequence=2**30,
        batch_size=2**31 - 1,
    )
    assert builder.append(0, 2**42, key, value, []) is not None
    return len(builder.build())


@pytest.mark.parametrize(
    ("key_size", "value_size"),
    [(0, 0), (1, 1), (127, 128), (16_384, 0), (0, 2**21), (2**14 + 1, 2**20 + 7)],
)
def test_the_record_size_bounds_the_batch_kafka_receives(key_size: int, value_size: int) -> None:
    key, value = b"k" * key_size, b"v" * value_size
    actual = batch_of_one(key, value)
    assert actual <= record_size(key, value) <= actual + 32


def test_a_missing_key_or_value_costs_no_more_than_an_empty_one() -> None:
    assert batch_of_one(None, None) <= record_size(None, None)


def test_the_value_budget_is_the_largest_value_that_fits() -> None:
    key = b"broadcast-1"
    budget = value_budget(DEFAULT_BROKER_MAX_MESSAGE_BYTES, key)
    assert fits(DEFAULT_BROKER_MAX_MESSAGE_BYTES, key, b"x" * budget)
    assert not fits(DEFAULT_BROKER_MAX_MESSAGE_BYTES, key, b"x" * (budget + 1))


def test_the_record_limit_is_the_smaller_of_broker_and_producer() -> None:
    assert record_limit(DEFAULT_BROKER_MAX_MESSAGE_BYTES, DEFAULT_PRODUCER_MAX_REQUEST_BYTES) == (
        DEFAULT_PRODUCER_MAX_REQUEST_BYTES
    )
    assert record_limit(50_000, DEFAULT_PRODUCER_MAX_REQUEST_BYTES) == 50_000
