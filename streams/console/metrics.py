"""Prometheus metrics of the console process, on its own ``/metrics``.

The confirmed share of pages lives here rather than in the worker's KPI loop:
the verdict carries only a ``dedup_key``, and the console is the process that
already joins verdicts with their incident's team and leading category (and
restores that join from its store after a restart). Doing it in the worker
would mean a new co-partitioned input and per-incident state on the worker's
hot path for a figure that changes a few times a day. Run one console per
deployment: each console reads every verdict, so two would count each twice.

Labels are low-cardinality: teams come from the policy's routes, categories and
verdicts from fixed enums.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge

from models.dead_letter import DeadLetterReason
from models.escalation import Severity
from models.verdict import VerdictKind
from oncall.console.views import ConfirmedShare


class Source(StrEnum):
    ESCALATION = "escalation"
    ACKNOWLEDGEMENT = "acknowledgement"
    VERDICT = "verdict"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    VERDICT = "verdict"


class ConsoleMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "spikewatch_console_events_total",
            "Events the console folded into its incidents, by source topic.",
            ["source"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "spikewatch_console_rejected_total",
            "Events the console could not read, by source and reason.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.actions = Counter(
            "spikewatch_console_actions_total",
            "Acknowledgements, resolutions and verdicts people sent from the console.",
            ["action"],
            registry=self.registry,
        )
        self.refused = Counter(
            "spikewatch_console_refused_total",
            "Requests refused: unauthenticated (401) or failing the CSRF check (403).",
            ["status"],
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            "spikewatch_console_open_incidents",
            "Open incidents the console shows, by severity.",
            ["severity"],
            registry=self.registry,
        )
        self.page_verdicts = Counter(
            "spikewatch_oncall_page_verdicts_total",
            "Verdicts recorded on pages, by team, leading category and verdict.",
            ["team", "category", "verdict"],
            registry=self.registry,
        )
        self.confirmed_share = Gauge(
            "spikewatch_oncall_pages_confirmed_ratio",
            "Of the pages judged in the last day, the share judged real abuse.",
            ["team", "category"],
            registry=self.registry,
        )
        self.judged_pages = Gauge(
            "spikewatch_oncall_pages_judged",
            "Pages judged in the last day (the denominator of the confirmed share).",
            ["team", "category"],
            registry=self.registry,
        )
        for source in Source:
            self.events.labels(source.value)
            for reason in DeadLetterReason:
                self.rejected.labels(source.value, reason.value)
        for action in Action:
            self.actions.labels(action.value)
        for severity in Severity:
            self.open_incidents.labels(severity.value)

    def count_page_verdict(self, team: str, category: str, verdict: VerdictKind) -> None:
        self.page_verdicts.labels(team, category, verdict.value).inc()

    def show(self, open_by_severity: dict[Severity, int], shares: Iterable[ConfirmedShare]) -> None:
        for severity in Severity:
            self.open_incidents.labels(severity.value).set(open_by_severity.get(severity, 0))
        self.confirmed_share.clear()
        self.judged_pages.clear()
        for share in shares:
            self.confirmed_share.labels(share.team, share.category.value).set(share.share)
            self.judged_pages.labels(share.team, share.category.value).set(share.judged)
