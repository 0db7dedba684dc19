"""Prometheus metrics of ``spikewatch notify``, on their own registry and ``/metrics``.

Labels are the configured sink names and teams (``other`` beyond them) and fixed
enums: never a broadcast, incident or reporter id.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from models.delivery_failure import FailureReason
from oncall.delivery.acks import AckSource
from oncall.delivery.retry import RetryReason
from oncall.delivery.routing import Skip
from streams.worker.metric_labels import bounded
from streams.worker.metrics import LATENCY_BUCKETS_SECONDS

DELIVERED = "delivered"
DEAD_LETTERED = "dead_lettered"
OUTCOMES = (DELIVERED, DEAD_LETTERED, *(skip.value for skip in Skip))


class NotifyMetrics:
    def __init__(
        self, sinks: Iterable[str], teams: Iterable[str], registry: CollectorRegistry | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.sinks = tuple(sinks)
        self.teams = frozenset(teams)
        r = self.registry
        self.deliveries = Counter(
            "spikewatch_notify_deliveries",
            "Escalation events a sink handled, by sink, team and outcome.",
            ["sink", "team", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "spikewatch_notify_delivery_latency_seconds",
            "From an escalation's detected_at to the sink's 2xx answer.",
            ["sink"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.retries = Counter(
            "spikewatch_notify_retries",
            "Attempts that will be repeated, by sink and reason.",
            ["sink", "reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            "spikewatch_notify_dead_letters",
            "Escalations a sink could not take, sent to the notify dead-letter topic.",
            ["sink", "reason"],
            registry=r,
        )
        self.sink_up = Gauge(
            "spikewatch_notify_sink_up",
            "1 while the sink answers, 0 after consecutive failed attempts.",
            ["sink"],
            registry=r,
        )
        self.reposts = Counter(
            "spikewatch_notify_alert_reposts",
            "Open Alertmanager alerts posted again to keep them firing.",
            ["sink"],
            registry=r,
        )
        self.acknowledgements = Counter(
            "spikewatch_notify_acknowledgements",
            "Webhook requests to the acknowledgement endpoint, by source and outcome.",
            ["source", "outcome"],
            registry=r,
        )
        for sink in self.sinks:
            self.sink_up.labels(sink).set(1)
            self.latency.labels(sink)
            for team in (*sorted(self.teams), "other"):
                for outcome in OUTCOMES:
                    self.deliveries.labels(sink, team, outcome)
            for reason in RetryReason:
                self.retries.labels(sink, reason.value)
            for failure in FailureReason:
                self.dead_letters.labels(sink, failure.value)
        for source in AckSource:
            for outcome in ("written", "ignored", "invalid", "unauthorized"):
                self.acknowledgements.labels(source.value, outcome)

    def count(self, sink: str, team: str | None, outcome: str) -> None:
        self.deliveries.labels(sink, bounded(team, self.teams), outcome).inc()
