"""Detectors: small rules that look at one category window and give a verdict.

Each detector is a plain object with a ``name`` and an ``evaluate`` method, so
new detection ideas plug in without touching the lifecycle. A verdict is one of
three signals:

* ``FIRE``: above the high mark; opens an incident or raises its severity;
* ``SUSTAIN``: above the low mark; keeps an open incident from resolving;
* ``NONE``: nothing to see.

Every verdict carries the figures it used and a sentence, which become the
escalation's evidence: on-call can always see why they were paged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from alerting.policy import Policy
from alerting.stats import poisson_upper_tail
from models.escalation import EscalationClass, RuleFiring, Severity
from models.report import Category


class Signal(IntEnum):
    NONE = 0
    SUSTAIN = 1
    FIRE = 2


@dataclass(frozen=True, slots=True)
class CategoryView:
    """What a detector may look at: one category's window on one broadcast."""

    category: Category
    reports: int
    distinct_reporters: int
    credible_reporters: int
    viewers: int | None
    window_seconds: float


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: str
    signal: Signal
    severity: Severity
    escalation_class: EscalationClass
    reason: str
    figures: dict[str, float | int | str | bool] = field(default_factory=dict)

    def as_rule_firing(self) -> RuleFiring:
        return RuleFiring(
            rule=self.rule,
            fired=self.signal is Signal.FIRE,
            figures=self.figures,
            reason=self.reason,
        )


class Detector(Protocol):
    name: str

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict: ...


def expected_reports(view: CategoryView, policy: Policy) -> tuple[float, int]:
    """Reports a benign broadcast of this audience would draw in the window.

    Returns ``(expected, audience)``; the audience is floored at ``min_viewers`` so
    that a broadcast claiming 0 viewers does not make every report improbable.
    """
    audience = max(
        view.viewers if view.viewers is not None else policy.spike.default_viewers,
        policy.spike.min_viewers,
    )
    rate = policy.category(view.category).base_rate_per_viewer_second
    return rate * audience * view.window_seconds, audience


def capped_severity(severity: Severity, policy: Policy, category: Category) -> Severity:
    """Low-harm categories never page above their ``max_severity``."""
    ceiling = policy.category(category).max_severity
    return severity if severity.rank <= ceiling.rank else ceiling


class AudienceSpikeDetector:
    """Distinct reporters improbably many for the audience (Poisson upper tail).

    A fixed "N reports in 5 minutes" pages for every popular broadcast and misses
    small ones; scaling the expectation with concurrent viewers does neither.
    """

    name = "audience_spike"

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        expected, audience = expected_reports(view, policy)
        observed = view.distinct_reporters
        p_value = poisson_upper_tail(observed, expected)
        floor = policy.spike.min_distinct_reporters
        figures: dict[str, float | int | str | bool] = {
            "distinct_reporters": observed,
            "expected_reports": round(expected, 6),
            "audience": audience,
            "p_value": p_value,
            "trigger_p_value": policy.spike.trigger_p_value,
            "sustain_p_value": policy.spike.sustain_p_value,
            "min_distinct_reporters": floor,
        }
        if observed >= floor and p_value <= policy.spike.trigger_p_value:
            signal = Signal.FIRE
            reason = (
                f"{observed} distinct reporters where {expected:.2f} are expected for "
                f"{audience} viewers (p={p_value:.1e})"
            )
        elif p_value <= policy.spike.sustain_p_value and observed >= 1:
            signal = Signal.SUSTAIN
            reason = f"{observed} distinct reporters, still above the low mark (p={p_value:.1e})"
        else:
            signal = Signal.NONE
            reason = f"{observed} distinct reporters is within the normal range (p={p_value:.2g})"
        return Verdict(
            rule=self.name,
            signal=signal,
            severity=capped_severity(
                policy.category(view.category).severity, policy, view.category
            ),
            escalation_class=EscalationClass.REPORT_SPIKE,
            reason=reason,
            figures=figures,
        )


class CredibleReportDetector:
    """One credible report in the gravest categories is enough to page at once."""

    name = "credible_report"

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        watched = view.category in policy.credible_report.categories
        figures: dict[str, float | int | str | bool] = {
            "credible_reporters": view.credible_reporters,
            "category_escalates_on_one_report": watched,
        }
        if watched and view.credible_reporters > 0:
            signal = Signal.FIRE
            reason = f"{view.credible_reporters} credible {view.category.value} report(s)"
        else:
            signal = Signal.NONE
            reason = (
                "no credible report in the window"
                if watched
                else f"{view.category.value} does not escalate on a single report"
            )
        return Verdict(
            rule=self.name,
            signal=signal,
            severity=capped_severity(Severity.CRITICAL, policy, view.category),
            escalation_class=EscalationClass.CRITICAL_REPORT,
            reason=reason,
            figures=figures,
        )


def default_detectors() -> tuple[Detector, ...]:
    return (CredibleReportDetector(), AudienceSpikeDetector())
