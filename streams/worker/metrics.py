"""Prometheus metrics of the worker: one ``spikewatch_`` prefix, base units.

Label values come only from fixed enums (categories, platforms, outcomes, dead
letter reasons, actions, severities, classes, teams from the policy) with an
``other`` fallback, so no broadcast or reporter id can ever become a label;
broadcast ids travel as exemplars where OpenMetrics is requested
(:mod:`streams.worker.metric_labels`). The on-call loop's KPIs are
:mod:`streams.worker.oncall_metrics`, on the same registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from enum import StrEnum
from itertools import product

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from alerting.incidents import DECIDED_TOO_LATE_RULE
from models.dead_letter import DeadLetterReason
from models.escalation import EscalationClass, EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category, Platform
from streams.worker.learner_metrics import LearnerCollector
from streams.worker.metric_labels import OTHER, bounded, broadcast_exemplar
from streams.worker.oncall_metrics import OncallMetrics

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

GC_PAUSE_BUCKETS_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""From a young collection (~1 ms) to a full one over a large state (seconds)."""


class Outcome(StrEnum):
    """What became of one input message."""

    ACCEPTED = "accepted"
    LATE = "late"
    DEAD_LETTERED = "dead_lettered"
    REROUTED = "rerouted"
    REPLAYED = "replayed"


ReportKind = tuple[str | None, str | None, Outcome]
"""(category, platform, outcome) of one input message: the labels it is counted under."""


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
        self.output_refused = Counter(
            "spikewatch_output_refused",
            "Records a topic refused for good (too large, not authorised, no such topic); "
            "each went to a dead-letter topic instead, or was logged when that failed too.",
            ["topic_kind", "reason"],
            registry=r,
        )
        self.unknown_categories = Counter(
            "spikewatch_unknown_categories",
            "Reports whose category this version does not know (counted as 'other').",
            registry=r,
        )
        self.reports_without_audience = Counter(
            "spikewatch_reports_without_audience",
            "Reports counted on a broadcast none of whose reports has carried viewer_count,"
            " by platform: judged by their categories' shares alone, where a surge spread"
            " over several categories cannot be told from ordinary traffic.",
            ["platform"],
            registry=r,
        )
        self.clock_corrections = Counter(
            "spikewatch_report_clock_corrections",
            "Reports counted at their Kafka record's time instead of their own: stamped"
            " further ahead of it than the policy's tolerance (ahead_of_record, a clock"
            " running fast) or too late for the broadcast's window while the record is not"
            " (behind_window, a clock running slow or a delivery held up).",
            ["direction"],
            registry=r,
        )
        self.escalations = Counter(
            "spikewatch_escalations",
            "Escalation events produced, by action, severity, class and team.",
            ["action", "severity", "class", "team"],
            registry=r,
        )
        self.escalations_decided_late = Counter(
            "spikewatch_escalations_decided_late",
            "Triggers and updates decided longer than lifecycle.page_within_seconds after "
            "their broadcast's newest report, which page nobody (a backlog after an outage, "
            "or retained history on a first start), by action and team.",
            ["action", "team"],
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
        self.gc_pauses = Histogram(
            "spikewatch_gc_pause_seconds",
            "Garbage-collection pauses of the worker process, by generation (2: full).",
            ["generation"],
            buckets=GC_PAUSE_BUCKETS_SECONDS,
            registry=r,
        )
        self.state_write_seconds = Histogram(
            "spikewatch_state_write_seconds",
            "From the start of a state write to Kafka's acknowledgement of its last record "
            "(see streams.worker.batch): its reports wait unacknowledged this long after the "
            "write interval, and a crash decides them again.",
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.gc_frozen_objects = Gauge(
            "spikewatch_gc_frozen_objects",
            "Live objects frozen out of garbage collection (see streams.worker.gc_pauses); rising "
            "while broadcasts tracked stays flat would mean leaked reference cycles.",
            registry=r,
        )
        self.input_end_offset = Gauge(
            "spikewatch_input_end_offset",
            "Broker end offset of each owned input partition: the topic's traffic, read "
            "independently of the worker's own progress.",
            ["partition"],
            registry=r,
        )
        self.learners = LearnerCollector(r)
        self.oncall = OncallMetrics(r, self.teams)
        self._create_series_at_zero()

    def _create_series_at_zero(self) -> None:
        """Create every counter series that rules and boards take ``increase`` of, at 0.

        A labelled counter otherwise first appears with its first increment already
        in it, and ``increase()`` cannot see a rise before a series' first sample:
        a worker's first batch of a category would look like no reports at all (the
        ingest-stalled alert would fire), the first SLA breach of a team would never
        alert. The label sets are fixed enums, so this costs a few hundred series.
        """
        categories, platforms = sorted(self._categories), [*sorted(self._platforms), OTHER]
        for category, platform, outcome in product(categories, platforms, Outcome):
            self.reports.labels(category, platform, outcome.value)
        for platform in platforms:
            self.reports_without_audience.labels(platform)
        for reason in DeadLetterReason:
            self.dead_letters.labels(reason.value)
        for action, team in product((EventAction.TRIGGER, EventAction.UPDATE), self.teams):
            self.escalations_decided_late.labels(action.value, team)
        for severity, team, escalation_class in product(Severity, self.teams, EscalationClass):
            self.escalations.labels(
                EventAction.TRIGGER.value, severity.value, escalation_class.value, team
            )

    def forget_partition(self, partition: int) -> None:
        """Drop the per-partition gauges of a partition another worker now owns."""
        for gauge in (self.consumer_lag, self.input_end_offset):
            with suppress(KeyError):
                gauge.remove(str(partition))

    def count_report(self, category: str | None, platform: str | None, outcome: Outcome) -> None:
        self.count_reports({(category, platform, outcome): 1})

    def count_reports(self, tally: Mapping[ReportKind, int]) -> None:
        """Add a whole batch's counts: one ``labels()`` lookup per kind, not per report."""
        for (category, platform, outcome), count in tally.items():
            self.reports.labels(
                bounded(category, self._categories), bounded(platform, self._platforms), outcome
            ).inc(count)

    def count_reports_without_audience(self, tally: Mapping[str | None, int]) -> None:
        """Add a batch's reports judged without an audience, by platform."""
        for platform, count in tally.items():
            self.reports_without_audience.labels(bounded(platform, self._platforms)).inc(count)

    def count_dead_letter(self, reason: DeadLetterReason) -> None:
        self.count_report(None, None, Outcome.DEAD_LETTERED)
        self.dead_letters.labels(reason.value).inc()

    def count_escalation(self, escalation: EscalationV2) -> None:
        team = bounded(escalation.labels.team, self.teams)
        self.escalations.labels(
            escalation.event_action.value,
            escalation.severity.value,
            escalation.escalation_class.value,
            team,
        ).inc()
        rules = escalation.evidence.rules
        if rules and rules[0].rule == DECIDED_TOO_LATE_RULE:
            self.escalations_decided_late.labels(escalation.event_action.value, team).inc()

    def observe_decision_latency(self, seconds: float, broadcast_id: str) -> None:
        self.decision_latency.observe(max(0.0, seconds), exemplar=broadcast_exemplar(broadcast_id))

    def observe_ingest_to_escalation(self, seconds: float, broadcast_id: str) -> None:
        self.ingest_to_escalation.observe(
            max(0.0, seconds), exemplar=broadcast_exemplar(broadcast_id)
        )
