"""Detectors: small rules that look at one category window and give a verdict.

Each detector is a plain object with a ``name``, so new detection ideas plug in
without touching the lifecycle. A verdict is one of three signals:

* ``FIRE``: above the high mark; opens an incident or raises its severity;
* ``SUSTAIN``: above the low mark; keeps an open incident from resolving;
* ``NONE``: nothing to see.

Every verdict carries the figures it used and a sentence, which become the
escalation's evidence: on-call can always see why they were paged.

The engine asks every detector after every report, and for almost every report
nothing fires, so a detector answers in two steps: :meth:`Detector.assess` gives
only what the incident lifecycle needs (signal, severity, class), and
:meth:`Detector.explain` the full :class:`Verdict`, built only for an escalation
that is actually sent. Both read the same :class:`~alerting.views.ViewOdds`, which
computes the expectation and tails the detectors share once per decision, so an
explanation always states the very figures that decided.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple, Protocol

from alerting.policy import Policy
from alerting.views import CategoryView, ViewOdds
from models.escalation import EscalationClass, RuleFiring, Severity
from models.report import Category


class Signal(IntEnum):
    NONE = 0
    SUSTAIN = 1
    FIRE = 2


Figures = dict[str, float | int | str | bool]


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: str
    signal: Signal
    severity: Severity
    escalation_class: EscalationClass
    reason: str
    figures: Figures = field(default_factory=dict)

    def as_rule_firing(self) -> RuleFiring:
        return RuleFiring(
            rule=self.rule,
            fired=self.signal is Signal.FIRE,
            figures=self.figures,
            reason=self.reason,
        )


class Assessment(NamedTuple):
    """An active signal (``FIRE`` or ``SUSTAIN``) and what an incident it drives would be.

    A named tuple, cheap to build: detectors assess after every report.
    """

    signal: Signal
    severity: Severity
    escalation_class: EscalationClass


class Detector(Protocol):
    name: str

    def assess(self, odds: ViewOdds) -> Assessment | None:
        """The active signal, or None when there is nothing to see; cheap, no explanation."""
        ...

    def explain(self, odds: ViewOdds) -> Verdict:
        """The full verdict, agreeing with :meth:`assess` on the same ``odds``."""
        ...


class Rule(ABC):
    """A detector written as one rule (:meth:`signal`) and its explanation.

    The rule's conditions live only in :meth:`signal`; :meth:`assess` and
    :meth:`explain` both go through it, so an explanation can never tell a
    different story from the decision it explains.
    """

    name: str
    escalation_class: EscalationClass

    @abstractmethod
    def signal(self, odds: ViewOdds) -> Signal: ...

    @abstractmethod
    def severity(self, odds: ViewOdds) -> Severity: ...

    @abstractmethod
    def reason(self, odds: ViewOdds, signal: Signal) -> str:
        """One sentence on-call reads: why this signal."""

    @abstractmethod
    def figures(self, odds: ViewOdds) -> Figures:
        """The numbers the rule looked at, with the thresholds it compared them to."""

    def assess(self, odds: ViewOdds) -> Assessment | None:
        signal = self.signal(odds)
        if signal is Signal.NONE:
            return None
        return Assessment(signal, self.severity(odds), self.escalation_class)

    def explain(self, odds: ViewOdds) -> Verdict:
        signal = self.signal(odds)
        return Verdict(
            rule=f"{self.name}{ALL_CATEGORIES_SUFFIX}" if odds.view.all_categories else self.name,
            signal=signal,
            severity=self.severity(odds),
            escalation_class=self.escalation_class,
            reason=self.reason(odds, signal),
            figures=self.figures(odds),
        )

    def evaluate(self, view: CategoryView, policy: Policy) -> Verdict:
        """The verdict on one view on its own (no figures shared with other detectors)."""
        return self.explain(ViewOdds(view, policy))


ALL_CATEGORIES_SUFFIX = ":all_categories"
"""A verdict on the broadcast-wide view is named ``<rule>:all_categories``."""


def capped_severity(severity: Severity, policy: Policy, category: Category) -> Severity:
    """Low-harm categories never page above their ``max_severity``."""
    ceiling = policy.category(category).max_severity
    return severity if severity.rank <= ceiling.rank else ceiling


def category_severity(category: Category, policy: Policy) -> Severity:
    return capped_severity(policy.category(category).severity, policy, category)


class AudienceSpikeDetector(Rule):
    """Trust-weighted distinct reporters improbably many for the audience (Poisson tail).

    A fixed "N reports in 5 minutes" pages for every popular broadcast and misses
    small ones; scaling the expectation with concurrent viewers does neither. The
    count is the whole part of the weighted sum (a trusted flagger counts twice,
    a suspect account not at all), compared with the floor and the tail alike.
    """

    name = "audience_spike"
    escalation_class = EscalationClass.REPORT_SPIKE

    @staticmethod
    def recent_trigger_p_value(odds: ViewOdds) -> float:
        """The short test's high mark: the window's, shared among the short spans the window
        holds (Bonferroni). The short test looks at every half-minute anew, so at the
        window's mark it would find an improbable one somewhere among the many half-minutes
        of a busy platform's broadcasts that much more often."""
        view = odds.view
        return odds.figures.trigger_p_value * min(1.0, view.recent_seconds / view.window_seconds)

    @classmethod
    def _recent_fires(cls, odds: ViewOdds) -> bool:
        figures = odds.figures
        return (
            odds.view.recent_seconds > 0
            and odds.recent_observed >= figures.min_distinct_reporters
            and odds.recent_p_value <= cls.recent_trigger_p_value(odds)
        )

    def signal(self, odds: ViewOdds) -> Signal:
        figures = odds.figures
        if (
            odds.observed >= figures.min_distinct_reporters
            and odds.p_value <= figures.trigger_p_value
        ):
            return Signal.FIRE
        if self._recent_fires(odds):
            return Signal.FIRE
        if odds.observed >= 1 and odds.sustain_p_value <= figures.sustain_p_value:
            return Signal.SUSTAIN
        return Signal.NONE

    def severity(self, odds: ViewOdds) -> Severity:
        return category_severity(odds.view.category, odds.policy)

    def reason(self, odds: ViewOdds, signal: Signal) -> str:
        observed, p_value = odds.observed, odds.p_value
        basis = (
            f"for {odds.audience} viewers"
            if odds.view.viewers is not None
            else "from the category's share of the broadcast's reporters (viewer count unknown)"
        )
        if signal is Signal.FIRE and p_value > odds.policy.spike.trigger_p_value:
            return (
                f"{odds.recent_observed} weighted distinct reporters within "
                f"{odds.view.recent_seconds:.0f} s where {odds.recent_expected:.2f} are expected "
                f"{basis} (p={odds.recent_p_value:.1e})"
            )
        if signal is Signal.FIRE:
            return (
                f"{observed} weighted distinct reporters where {odds.expected:.2f} are expected "
                f"{basis} (p={p_value:.1e})"
            )
        if signal is Signal.SUSTAIN:
            return f"{observed} weighted reporters over the low mark (p={odds.sustain_p_value:.1e})"
        loud = odds.view.incident_loudness
        beside = f", the rest of the broadcast {loud:.2f}x its level" if loud > 1.0 else ""
        return f"{observed} weighted reporters is normal (p={odds.sustain_p_value:.2g}{beside})"

    def figures(self, odds: ViewOdds) -> Figures:
        spike = odds.policy.spike
        return {
            "distinct_reporters": odds.view.distinct_reporters,
            "weighted_reporters": round(odds.view.weighted, 3),
            "expected_reports": round(odds.expected, 6),
            "audience": odds.audience,
            "p_value": odds.p_value,
            "trigger_p_value": spike.trigger_p_value,
            "sustain_p_value": spike.sustain_p_value,
            "incident_loudness": round(odds.view.incident_loudness, 6),
            "min_distinct_reporters": spike.min_distinct_reporters,
            "recent_seconds": odds.view.recent_seconds,
            "recent_weighted_reporters": round(odds.view.recent_weighted, 3),
            "recent_expected_reports": round(odds.recent_expected, 6),
            "recent_p_value": odds.recent_p_value,
            "recent_trigger_p_value": self.recent_trigger_p_value(odds),
            "own_weighted_reporters": round(odds.view.own_weight, 3),
            "recent_own_weighted_reporters": round(odds.view.recent_own_weight, 3),
        }


class CredibleReportDetector(Rule):
    """One credible report in the gravest categories is enough to page at once."""

    name = "credible_report"
    escalation_class = EscalationClass.CRITICAL_REPORT

    def signal(self, odds: ViewOdds) -> Signal:
        view = odds.view
        if view.credible_reporters > 0 and view.category in odds.figures.credible_categories:
            return Signal.FIRE
        return Signal.NONE

    def severity(self, odds: ViewOdds) -> Severity:
        return capped_severity(Severity.CRITICAL, odds.policy, odds.view.category)

    def reason(self, odds: ViewOdds, signal: Signal) -> str:
        view = odds.view
        if signal is Signal.FIRE:
            return f"{view.credible_reporters} credible {view.category.value} report(s)"
        if view.category in odds.policy.credible_report.categories:
            return "no credible report in the window"
        return f"{view.category.value} does not escalate on a single report"

    def figures(self, odds: ViewOdds) -> Figures:
        return {
            "credible_reporters": odds.view.credible_reporters,
            "category_escalates_on_one_report": (
                odds.view.category in odds.policy.credible_report.categories
            ),
        }


class RampDetector(Rule):
    """A steady climb: the CUSUM has reached the broadcast's mark and the window agrees.

    The window condition (its own low mark, and a weighted floor to page) keeps an old
    excursion from paging or keeping an incident open on its own: the CUSUM remembers a
    surge on a large broadcast far longer than the surge, which held incidents open.
    """

    name = "report_ramp"
    escalation_class = EscalationClass.REPORT_RAMP

    def signal(self, odds: ViewOdds) -> Signal:
        figures, view = odds.figures, odds.view
        if (
            view.ramp_statistic < view.ramp_threshold
            or odds.ramp_p_value > figures.ramp_window_p_value
        ):
            return Signal.NONE
        if view.weighted >= figures.ramp_min_weighted_reporters:
            return Signal.FIRE
        return Signal.SUSTAIN

    def severity(self, odds: ViewOdds) -> Severity:
        return category_severity(odds.view.category, odds.policy)

    def reason(self, odds: ViewOdds, signal: Signal) -> str:
        statistic, threshold = odds.view.ramp_statistic, odds.view.ramp_threshold
        if signal is Signal.FIRE:
            return (
                f"report rate climbing: CUSUM {statistic:.1f} >= {threshold:.1f} "
                f"with {odds.observed} weighted reporters (p={odds.ramp_p_value:.1e})"
            )
        if statistic >= threshold:
            window = "above" if signal is Signal.SUSTAIN else "at"
            return (
                f"CUSUM {statistic:.1f} above {threshold:.1f}, the window {window} the "
                f"ordinary level (p={odds.ramp_p_value:.1e})"
            )
        return f"CUSUM {statistic:.1f} below {threshold:.1f}"

    def figures(self, odds: ViewOdds) -> Figures:
        ramp = odds.policy.ramp
        return {
            "cusum": round(odds.view.ramp_statistic, 6),
            "threshold": round(odds.view.ramp_threshold, 6),
            "threshold_every_category": ramp.threshold,
            "rate_multiplier": ramp.rate_multiplier,
            "weighted_reporters": round(odds.view.weighted, 3),
            "window_p_value": odds.ramp_p_value,
            "own_rate_multiple": round(odds.view.ramp_tilt, 6),
        }


class CoordinationDetector(Rule):
    """A synchronised burst of suspect (new, low-trust, non-viewing) reporters.

    Such a burst says something about the reporters, not the broadcast: it opens
    a ``coordinated_reporting`` incident for the integrity team at a non-paging
    severity, and the suspects never count towards the abuse statistic.
    """

    name = "coordinated_reporting"
    escalation_class = EscalationClass.COORDINATED_REPORTING

    @staticmethod
    def _share(view: CategoryView) -> float:
        """Suspects as a share of all distinct reporters in the window."""
        return view.suspect_reporters / view.distinct_reporters if view.distinct_reporters else 0.0

    def signal(self, odds: ViewOdds) -> Signal:
        figures, suspects = odds.figures, odds.view.suspect_reporters
        if suspects < 1:
            return Signal.NONE
        if (
            suspects >= figures.coordination_min_suspects
            and self._share(odds.view) >= figures.coordination_min_share
            and odds.suspect_p_value <= figures.coordination_trigger_p_value
        ):
            return Signal.FIRE
        if odds.suspect_p_value <= figures.sustain_p_value:
            return Signal.SUSTAIN
        return Signal.NONE

    def severity(self, odds: ViewOdds) -> Severity:
        return odds.policy.coordination.severity

    def reason(self, odds: ViewOdds, signal: Signal) -> str:
        suspects, p_value = odds.view.suspect_reporters, odds.suspect_p_value
        if signal is Signal.FIRE:
            return (
                f"{suspects} new, low-trust or non-viewing reporters "
                f"({self._share(odds.view):.0%} of reporters) "
                f"where {odds.expected:.2f} reports are expected (p={p_value:.1e})"
            )
        if signal is Signal.SUSTAIN:
            return f"{suspects} suspect reporters, still above the low mark (p={p_value:.1e})"
        return f"{suspects} suspect reporters is within the normal range"

    def figures(self, odds: ViewOdds) -> Figures:
        rules = odds.policy.coordination
        return {
            "suspect_reporters": odds.view.suspect_reporters,
            "suspect_share": round(self._share(odds.view), 4),
            "expected_reports": round(odds.expected, 6),
            "p_value": odds.suspect_p_value,
            "min_suspect_reporters": rules.min_suspect_reporters,
            "min_suspect_share": rules.min_suspect_share,
        }


def default_detectors() -> tuple[Detector, ...]:
    return (CredibleReportDetector(), AudienceSpikeDetector(), RampDetector())


def default_coordination_detectors() -> tuple[Detector, ...]:
    return (CoordinationDetector(),)


def quiet_period(
    severity: Severity, escalation_class: EscalationClass, quiet: float, resolve_after: float
) -> Verdict:
    """Why an incident quiet for ``quiet`` seconds resolves: the lifecycle's own rule."""
    return Verdict(
        rule="quiet_period",
        signal=Signal.FIRE,
        severity=severity,
        escalation_class=escalation_class,
        reason=f"no detector above its low mark for {quiet:.0f} s",
        figures={"quiet_seconds": round(quiet, 3), "resolve_after_quiet_seconds": resolve_after},
    )
