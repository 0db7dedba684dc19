"""What to do with a sink's answer: done, try again later, or give up on this event.

Retried: 5xx, 408, 429, timeouts and connection failures, for as long as it
takes (an event is never dropped because a sink was down), with exponential
backoff and full jitter so that many incidents retrying at once do not hit a
recovering sink in step. A ``Retry-After`` the sink sends is honoured: the wait
is never shorter than it asked. Any other 4xx is permanent: the same bytes would
be refused again, so the event goes to the dead-letter topic with the answer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from oncall.delivery.config import RetryConfig

RETRIED_CLIENT_ERRORS = frozenset({408, 429})


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    REFUSED = "refused"


class RetryReason(StrEnum):
    """Why an attempt is repeated; a fixed enum, so the metric label stays bounded."""

    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION = "connection"


def verdict(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    if status >= 500 or status in RETRIED_CLIENT_ERRORS:
        return Verdict.RETRY
    return Verdict.REFUSED


def retry_reason(status: int) -> RetryReason:
    if status == 429:
        return RetryReason.RATE_LIMITED
    if status == 408:
        return RetryReason.TIMEOUT
    return RetryReason.SERVER_ERROR


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date); None if absent."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Backoff:
    """Delays before successive attempts at one event; ``attempt`` counts from 1."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        grown = self.config.initial_backoff_seconds * self.config.multiplier ** (attempt - 1)
        return min(self.config.max_backoff_seconds, grown)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter under the exponential ceiling, never below what the sink asked for."""
        jittered = self.rng.uniform(0.0, self.ceiling(attempt))
        if retry_after is None:
            return jittered
        return max(retry_after, jittered)
