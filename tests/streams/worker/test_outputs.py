"""Tests for streams/worker/outputs.py: which producer errors are a refusal for good."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from faust.exceptions import ProducerSendError

from streams.worker.outputs import Refusal, RefusalReason, TopicKind, refusal_reason


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MessageSizeTooLargeError(), RefusalReason.TOO_LARGE),
        (TopicAuthorizationFailedError(), RefusalReason.NOT_AUTHORIZED),
        (InvalidTopicError(), RefusalReason.INVALID_TOPIC),
        (UnknownTopicOrPartitionError(), RefusalReason.UNKNOWN_TOPIC),
    ],
)
def test_a_refusal_for_good_is_recognised_also_behind_fausts_wrapper(
    error: KafkaError, reason: RefusalReason
) -> None:
    assert refusal_reason(error) is reason
    wrapped = ProducerSendError(f"Error while sending: {error!r}")
    wrapped.__cause__ = error  # what ``raise ... from error`` in Faust's producer sets
    assert refusal_reason(wrapped) is reason


@pytest.mark.parametrize(
    "error",
    [
        NotLeaderForPartitionError(),
        RequestTimedOutError(),
        KafkaTimeoutError(),
        KafkaConnectionError(),
        NotEnoughReplicasError(),
        RuntimeError("anything else"),
    ],
)
def test_what_a_retry_may_mend_is_not_a_refusal(error: Exception) -> None:
    assert refusal_reason(error) is None


def test_a_refusal_reads_as_one_bounded_line() -> None:
    refusal = Refusal("oncall.content", TopicKind.ONCALL, RefusalReason.TOO_LARGE, "x" * 5000)
    assert refusal.line.startswith("oncall topic oncall.content refused the record (too_large): ")
    assert len(refusal.line) == 1000
