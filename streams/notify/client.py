"""Sending one request to a sink until it is taken or refused for good.

A request is retried for as long as the sink fails in a way that may pass
(see :mod:`oncall.delivery.retry`); the caller's Kafka offset is not committed
meanwhile, so a sink that is down holds back only its own consumer group.
Secrets ride in URLs (Slack) and headers: logs name the sink, never either.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import structlog

from oncall.delivery.config import RetryConfig
from oncall.delivery.requests import OutgoingRequest
from oncall.delivery.retry import (
    Backoff,
    RetryReason,
    Verdict,
    retry_after_seconds,
    retry_reason,
    verdict,
)
from streams.notify.metrics import NotifyMetrics

log = structlog.get_logger("spikewatch.notify")
ANSWER_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Refusal:
    """A permanent 4xx (the status and the start of the sink's answer), or an unusable URL."""

    status: int | None
    answer: str


class SinkClient:
    """One sink's HTTP side: retries, backoff, and whether the sink is up."""

    def __init__(
        self,
        name: str,
        retry: RetryConfig,
        session: aiohttp.ClientSession,
        metrics: NotifyMetrics,
    ) -> None:
        self.name = name
        self.retry = retry
        self.session = session
        self.metrics = metrics
        self.backoff = Backoff(retry)
        self.consecutive_failures = 0

    async def send(self, request: OutgoingRequest) -> Refusal | None:
        """None once the sink answered 2xx; a :class:`Refusal` for a permanent 4xx."""
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                async with self.session.request(
                    request.method,
                    request.url,
                    data=request.body,
                    headers=request.headers,
                    timeout=aiohttp.ClientTimeout(total=self.retry.request_timeout_seconds),
                ) as response:
                    status = response.status
                    answer = (await response.text(errors="replace"))[:ANSWER_LIMIT]
                    outcome = verdict(status)
                    if outcome is Verdict.ACCEPTED:
                        self._succeeded()
                        return None
                    if outcome is Verdict.REFUSED:
                        self._succeeded()
                        return Refusal(status, answer)
                    retry_after = retry_after_seconds(
                        response.headers.get("Retry-After"), datetime.now(UTC)
                    )
                    reason = retry_reason(status)
            except aiohttp.InvalidURL as error:
                return Refusal(None, f"invalid URL: {error.__class__.__name__}")
            except TimeoutError:
                reason, status = RetryReason.TIMEOUT, 0
            except aiohttp.ClientError:
                reason, status = RetryReason.CONNECTION, 0
            self._failed(reason, status, attempt)
            await asyncio.sleep(self.backoff.delay(attempt, retry_after))

    def _succeeded(self) -> None:
        if self.consecutive_failures >= self.retry.down_after_failures:
            log.info("sink answering again", sink=self.name)
        self.consecutive_failures = 0
        self.metrics.sink_up.labels(self.name).set(1)

    def _failed(self, reason: RetryReason, status: int, attempt: int) -> None:
        self.metrics.retries.labels(self.name, reason.value).inc()
        self.consecutive_failures += 1
        if reason is not RetryReason.RATE_LIMITED and (
            self.consecutive_failures >= self.retry.down_after_failures
        ):
            self.metrics.sink_up.labels(self.name).set(0)
        if attempt == 1 or attempt % 10 == 0:
            log.warning(
                "sink attempt failed; retrying",
                sink=self.name,
                reason=reason.value,
                status=status,
                attempt=attempt,
            )
