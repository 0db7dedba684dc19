"""Prometheus metrics of the on-call loop (``spikewatch_oncall_*`` and the acknowledgements
received): the KPIs the worker derives from its own escalations read back and from the
acknowledgements of on-call tools (:mod:`oncall.timelines` defines them).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from models.acknowledgement import AckAction, Actor
from models.dead_letter import DeadLetterReason
from models.escalation import Severity
from oncall.timelines import KpiFacts, Resolver
from streams.worker.metric_labels import OTHER, bounded, broadcast_exemplar

ONCALL_BUCKETS_SECONDS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 14400.0)
"""Human response times: seconds to hours, with edges at the default SLAs (300 s, 900 s)."""


class AckOutcome(StrEnum):
    """What became of one valid acknowledgement message."""

    MATCHED = "matched"
    UNKNOWN_INCIDENT = "unknown_incident"
    REROUTED = "rerouted"


class OncallMetrics:
    """The on-call KPIs of one worker, on the worker's registry."""

    def __init__(self, r: CollectorRegistry, teams: Iterable[str]) -> None:
        self.teams = frozenset(teams)
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
            "From the first page to a person (the trigger, or the update that raised the "
            "incident to a paging severity) to the first acknowledgement, by severity.",
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
        """The series that rules and boards take ``increase`` of, at 0 from the start
        (:meth:`streams.worker.metrics.WorkerMetrics._create_series_at_zero` says why)."""
        for reason in DeadLetterReason:
            self.oncall_dead_letters.labels(reason.value)
        for severity in Severity:
            self.awaiting_acknowledgement.labels(severity.value).set(0)
            review = _review(severity)
            for team in self.teams:
                self.sla_breaches.labels(team, severity.value)
                self.incidents_incoming.labels(team, severity.value, review)
                if severity.pages:
                    self.incidents_raised_to_page.labels(team, severity.value)
                for resolver in Resolver:
                    self.incidents_solved.labels(team, severity.value, resolver.value)

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
