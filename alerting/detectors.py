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
    """What a detector may look at: one category's window on one broadcast.

    ``weighted_reporters`` is the trust-weighted distinct count (suspect
    reporters weigh nothing); None means every reporter weighs 1.
    ``base_rate`` is the learned rate (None: the policy's prior).
    ``ramp_statistic`` is the broadcast's CUSUM (:mod:`alerting.ramp`).
    """

    category: Category
    reports: int
    distinct_reporters: int
    credible_reporters: int
    viewers: int | None
    window_seconds: float
    weighted_reporters: float | None = None
    suspect_reporters: int = 0
    base_rate: float | None = None
    ramp_statistic: float = 0.0

    @property
    def weighted(self) -> float:
        return (
            self.distinct_reporters if self.weighted_reporters is None else self.weighted_reporters
        )


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
    rate = (
        view.base_rate
        if view.base_rate is not None
        else policy.category(view.category).base_rate_per_viewer_second
    )
    return rate * audience * view.window_seconds, audience


def weighted_tail(view: CategoryView, expected: float) -> tuple[int, float]:
    """Whole weighted reporters and their Poisson upper tail under ``expected``."""
    observed = int(view.weighted + 1e-9)
    return observed, poisson_upper_tail(observed, expected)


def capped_severity(severity: Severity, policy: Policy, category: Category) -> Severity:
    """Low-harm categories never page above their ``max_severity``."""
    ceiling = policy.category(category).max_severity
    return severity if severity.rank <= ceiling.rank else ceiling


def category_severity(category: Category, policy: Policy) -> Severity:
    return capped_severity(policy.category(category).severity, policy, category)


class AudienceSpikeDetector:
    """Trust-weighted distinct reporters improbably many for the audience (Poisson tail).

    A fixed "N reports in 5 minutes" pages for every popular broadcast and misses
    small ones; scaling the expectation with concurrent viewers does neither. The
    count is the whole part of the weighted sum (a trusted flagger counts twice,
    a suspect account not at all), compared with the floor and the tail alike.
    """

    name = "audience_spike"

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        expected, audience = expected_reports(view, policy)
        observed, p_value = weighted_tail(view, expected)
        floor = policy.spike.min_distinct_reporters
        figures: dict[str, float | int | str | bool] = {
            "distinct_reporters": view.distinct_reporters,
            "weighted_reporters": round(view.weighted, 3),
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
                f"{observed} weighted distinct reporters where {expected:.2f} are expected "
                f"for {audience} viewers (p={p_value:.1e})"
            )
        elif p_value <= policy.spike.sustain_p_value and observed >= 1:
            signal = Signal.SUSTAIN
            reason = f"{observed} weighted reporters, still above the low mark (p={p_value:.1e})"
        else:
            signal = Signal.NONE
            reason = f"{observed} weighted reporters is within the normal range (p={p_value:.2g})"
        return Verdict(
            rule=self.name,
            signal=signal,
            severity=category_severity(view.category, policy),
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


class RampDetector:
    """A steady climb: the CUSUM has accumulated enough and the window agrees.

    The window condition (its own low mark and a weighted floor) keeps an old,
    long-past excursion from paging on its own.
    """

    name = "report_ramp"

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        ramp = policy.ramp
        expected, _ = expected_reports(view, policy)
        observed, p_value = weighted_tail(view, expected)
        figures: dict[str, float | int | str | bool] = {
            "cusum": round(view.ramp_statistic, 6),
            "threshold": ramp.threshold,
            "rate_multiplier": ramp.rate_multiplier,
            "weighted_reporters": round(view.weighted, 3),
            "window_p_value": p_value,
        }
        above = view.ramp_statistic >= ramp.threshold
        if (
            above
            and p_value <= ramp.window_p_value
            and view.weighted >= ramp.min_weighted_reporters
        ):
            signal = Signal.FIRE
            reason = (
                f"report rate climbing: CUSUM {view.ramp_statistic:.1f} >= {ramp.threshold:g} "
                f"with {observed} weighted reporters (p={p_value:.1e})"
            )
        elif above:
            signal = Signal.SUSTAIN
            reason = f"CUSUM {view.ramp_statistic:.1f} still above {ramp.threshold:g}"
        else:
            signal = Signal.NONE
            reason = f"CUSUM {view.ramp_statistic:.1f} below {ramp.threshold:g}"
        return Verdict(
            rule=self.name,
            signal=signal,
            severity=category_severity(view.category, policy),
            escalation_class=EscalationClass.REPORT_RAMP,
            reason=reason,
            figures=figures,
        )


class CoordinationDetector:
    """A synchronised burst of suspect (new, low-trust, non-viewing) reporters.

    Such a burst says something about the reporters, not the broadcast: it opens
    a ``coordinated_reporting`` incident for the integrity team at a non-paging
    severity, and the suspects never count towards the abuse statistic.
    """

    name = "coordinated_reporting"

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        rules = policy.coordination
        expected, _ = expected_reports(view, policy)
        suspects = view.suspect_reporters
        share = suspects / view.distinct_reporters if view.distinct_reporters else 0.0
        p_value = poisson_upper_tail(suspects, expected)
        figures: dict[str, float | int | str | bool] = {
            "suspect_reporters": suspects,
            "suspect_share": round(share, 4),
            "expected_reports": round(expected, 6),
            "p_value": p_value,
            "min_suspect_reporters": rules.min_suspect_reporters,
            "min_suspect_share": rules.min_suspect_share,
        }
        if (
            suspects >= rules.min_suspect_reporters
            and share >= rules.min_suspect_share
            and p_value <= rules.trigger_p_value
        ):
            signal = Signal.FIRE
            reason = (
                f"{suspects} new, low-trust or non-viewing reporters ({share:.0%} of reporters) "
                f"where {expected:.2f} reports are expected (p={p_value:.1e})"
            )
        elif suspects >= 1 and p_value <= policy.spike.sustain_p_value:
            signal = Signal.SUSTAIN
            reason = f"{suspects} suspect reporters, still above the low mark (p={p_value:.1e})"
        else:
            signal = Signal.NONE
            reason = f"{suspects} suspect reporters is within the normal range"
        return Verdict(
            rule=self.name,
            signal=signal,
            severity=rules.severity,
            escalation_class=EscalationClass.COORDINATED_REPORTING,
            reason=reason,
            figures=figures,
        )


def default_detectors() -> tuple[Detector, ...]:
    return (CredibleReportDetector(), AudienceSpikeDetector(), RampDetector())


def default_coordination_detectors() -> tuple[Detector, ...]:
    return (CoordinationDetector(),)
