"""Prometheus metrics of the worker: one ``spikewatch_`` prefix, base units.

Label values come only from fixed enums (categories, platforms, outcomes, dead
letter reasons, actions, severities, classes, teams from the policy) with an
``other`` fallback, so no broadcast or reporter id can ever become a label;
broadcast ids travel as exemplars where OpenMetrics is requested.
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
from models.acknowledgement import AckAction, Actor
from models.dead_letter import DeadLetterReason
from models.escalation import EscalationClass, EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import Category, Platform
from oncall.timelines import KpiFacts, Resolver
from streams.worker.learner_metrics import LearnerCollector

OTHER = "other"

EXEMPLAR_LABEL_BUDGET = 128
"""OpenMetrics caps an exemplar's label names and values at 128 characters in total."""

ONCALL_BUCKETS_SECONDS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 14400.0)
"""Human response times: seconds to hours, with edges at the default SLAs (300 s, 900 s)."""

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


class AckOutcome(StrEnum):
    """What became of one valid acknowledgement message."""

    MATCHED = "matched"
    UNKNOWN_INCIDENT = "unknown_incident"
    REROUTED = "rerouted"


ReportKind = tuple[str | None, str | None, Outcome]
"""(category, platform, outcome) of one input message: the labels it is counted under."""


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
        self._define_oncall_metrics()

    def _define_oncall_metrics(self) -> None:
        r = self.registry
        self.acknowledgements = Counter(
            "spikewatch_acknowledgements_received",
            "Valid acknowledgement messages from on-call tools, by action, actor and outcome.",
            ["action", "actor", "outcome"],
            registry=r,
        )
        self.oncall_dead_letters = Counter(
            "spikewatch_oncall_dead_letters",
            "Messages of the on-call loop (acknowledgements, escalations read back) sent to "
            "the acknowledgement dead-letter topic, by reason class.",
            ["reason"],
            registry=r,
        )
        self.incidents_incoming = Counter(
            "spikewatch_oncall_incidents_incoming",
            "Incidents opened (triggers), by team, severity and review: manual when the "
            "severity pages a person, automatic otherwise.",
            ["team", "severity", "review"],
            registry=r,
        )
        self.incidents_raised_to_page = Counter(
            "spikewatch_oncall_incidents_raised_to_page",
            "Incidents opened at a severity that pages nobody and later raised to one that "
            "pages a person, by team and the severity they were raised to.",
            ["team", "severity"],
            registry=r,
        )
        self.incidents_solved = Counter(
            "spikewatch_oncall_incidents_solved",
            "Incidents resolved, by team, severity and who resolved them "
            "(person, tool, quiet_timer).",
            ["team", "severity", "resolved_by"],
            registry=r,
        )
        self.time_to_acknowledge = Histogram(
            "spikewatch_oncall_time_to_acknowledge_seconds",
            "From the trigger to the first acknowledgement, by severity.",
            ["severity"],
            buckets=ONCALL_BUCKETS_SECONDS,
            registry=r,
        )
        self.handle_time = Histogram(
            "spikewatch_oncall_handle_time_seconds",
            "From the first acknowledgement to the resolution by a person (AHT), by severity.",
            ["severity"],
            buckets=ONCALL_BUCKETS_SECONDS,
            registry=r,
        )
        self.sla_breaches = Counter(
            "spikewatch_oncall_sla_breaches",
            "Incidents not acknowledged within the policy's SLA for their severity.",
            ["team", "severity"],
            registry=r,
        )
        self.awaiting_acknowledgement = Gauge(
            "spikewatch_oncall_awaiting_acknowledgement",
            "Triggered incidents neither acknowledged nor resolved yet, by severity.",
            ["severity"],
            registry=r,
        )
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
            self.oncall_dead_letters.labels(reason.value)
        for action, team in product((EventAction.TRIGGER, EventAction.UPDATE), self.teams):
            self.escalations_decided_late.labels(action.value, team)
        for severity in Severity:
            self.awaiting_acknowledgement.labels(severity.value).set(0)
            review = _review(severity)
            for team in self.teams:
                self.sla_breaches.labels(team, severity.value)
                self.incidents_incoming.labels(team, severity.value, review)
                if severity.pages:
                    self.incidents_raised_to_page.labels(team, severity.value)
                for escalation_class in EscalationClass:
                    self.escalations.labels(
                        EventAction.TRIGGER.value, severity.value, escalation_class.value, team
                    )
                for resolver in Resolver:
                    self.incidents_solved.labels(team, severity.value, resolver.value)

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

    def count_acknowledgement(self, action: AckAction, actor: Actor, outcome: AckOutcome) -> None:
        self.acknowledgements.labels(action.value, actor.value, outcome.value).inc()

    def count_oncall_dead_letter(self, reason: DeadLetterReason) -> None:
        self.oncall_dead_letters.labels(reason.value).inc()

    def record_kpis(
        self, facts: KpiFacts, team: str | None, severity: Severity | None, broadcast_id: str
    ) -> None:
        """Turn one timeline update into KPI samples; the labels are bounded enums."""
        team_label = bounded(team, self.teams)
        severity_label = severity.value if severity is not None else OTHER
        exemplar = broadcast_exemplar(broadcast_id) if broadcast_id else None
        if facts.incoming:
            self.incidents_incoming.labels(team_label, severity_label, _review(severity)).inc()
        if facts.raised_to_page:
            self.incidents_raised_to_page.labels(team_label, severity_label).inc()
        if facts.solved_by is not None:
            self.incidents_solved.labels(team_label, severity_label, facts.solved_by.value).inc()
        if facts.time_to_acknowledge is not None:
            self.time_to_acknowledge.labels(severity_label).observe(
                facts.time_to_acknowledge, exemplar=exemplar
            )
        if facts.handle_time is not None:
            self.handle_time.labels(severity_label).observe(facts.handle_time, exemplar=exemplar)

    def count_sla_breach(self, team: str | None, severity: Severity | None) -> None:
        self.sla_breaches.labels(
            bounded(team, self.teams), severity.value if severity is not None else OTHER
        ).inc()


def _review(severity: Severity | None) -> str:
    """``manual`` when the severity pages a person for review, else ``automatic``."""
    return "manual" if severity is not None and severity.pages else "automatic"


def broadcast_exemplar(broadcast_id: str) -> dict[str, str]:
    """The broadcast id as an exemplar label, cut to fit the OpenMetrics budget."""
    name = "broadcast_id"
    return {name: broadcast_id[: EXEMPLAR_LABEL_BUDGET - len(name)]}
