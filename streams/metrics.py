"""Prometheus metrics of the worker: one ``spikewatch_`` prefix, base units.

Label values come only from fixed enums (categories, platforms, outcomes, dead
letter reasons, actions, severities, classes, teams from the policy) with an
``other`` fallback, so no broadcast or reporter id can ever become a label;
broadcast ids travel as exemplars where OpenMetrics is requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from models.dead_letter import DeadLetterReason
from models.escalation import Escalation
from models.report import Category, Platform

OTHER = "other"

LATENCY_BUCKETS_SECONDS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


class Outcome(StrEnum):
    """What became of one input message."""

    ACCEPTED = "accepted"
    LATE = "late"
    DEAD_LETTERED = "dead_lettered"
    REROUTED = "rerouted"
    REPLAYED = "replayed"


def bounded(value: str | None, allowed: Iterable[str]) -> str:
    """The value if it belongs to the fixed set, else ``other``: labels stay bounded."""
    return value if value is not None and value in allowed else OTHER


class WorkerMetrics:
    """All metrics of one worker process, on their own registry."""

    def __init__(self, teams: Iterable[str], registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.teams = frozenset(teams)
        self._categories = frozenset(c.value for c in Category)
        self._platforms = frozenset(p.value for p in Platform)
        r = self.registry
        self.reports = Counter(
            "spikewatch_reports_received",
            "Input messages by category, platform and outcome.",
            ["category", "platform", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "spikewatch_dead_letters",
            "Input messages sent to the dead-letter topic, by reason class.",
            ["reason"],
            registry=r,
        )
        self.unknown_categories = Counter(
            "spikewatch_unknown_categories",
            "Reports whose category this version does not know (counted as 'other').",
            registry=r,
        )
        self.escalations = Counter(
            "spikewatch_escalations",
            "Escalation events produced, by action, severity, class and team.",
            ["action", "severity", "class", "team"],
            registry=r,
        )
        self.open_incidents = Gauge(
            "spikewatch_open_incidents",
            "Incidents currently open on this worker.",
            registry=r,
        )
        self.broadcasts_tracked = Gauge(
            "spikewatch_broadcasts_tracked",
            "Broadcasts with live window state on this worker.",
            registry=r,
        )
        self.decision_latency = Histogram(
            "spikewatch_decision_latency_seconds",
            "From a report's event time to the escalation decided on it.",
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.ingest_to_escalation = Histogram(
            "spikewatch_ingest_to_escalation_seconds",
            "From receiving the deciding report to the escalation acknowledged by Kafka.",
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "spikewatch_consumer_lag_messages",
            "Input messages not yet processed, per partition.",
            ["partition"],
            registry=r,
        )
        self.event_time_lag = Gauge(
            "spikewatch_event_time_lag_seconds",
            "Wall clock minus the newest event time processed: how far behind now.",
            registry=r,
        )
        self.last_progress = Gauge(
            "spikewatch_last_progress_timestamp_seconds",
            "Unix time of the last processed batch or timer tick (liveness).",
            registry=r,
        )
        self.up = Gauge("spikewatch_worker_up", "1 while the worker runs.", registry=r)
        self.policy = Info("spikewatch_policy", "The active detection policy.", registry=r)

    def count_report(self, category: str | None, platform: str | None, outcome: Outcome) -> None:
        self.reports.labels(
            bounded(category, self._categories), bounded(platform, self._platforms), outcome
        ).inc()

    def count_dead_letter(self, reason: DeadLetterReason) -> None:
        self.count_report(None, None, Outcome.DEAD_LETTERED)
        self.dead_letters.labels(reason.value).inc()

    def count_escalation(self, escalation: Escalation) -> None:
        self.escalations.labels(
            escalation.event_action.value,
            escalation.severity.value,
            escalation.escalation_class.value,
            bounded(escalation.labels.team, self.teams),
        ).inc()

    def observe_decision_latency(self, seconds: float, broadcast_id: str) -> None:
        self.decision_latency.observe(
            max(0.0, seconds), exemplar={"broadcast_id": broadcast_id[:100]}
        )
