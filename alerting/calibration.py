"""Priors from a report log: what ``spikewatch calibrate`` pins in a policy file.

The worker calibrates itself (:mod:`alerting.baseline`); an operator who wants the
rates fixed, reviewed and versioned runs the same learning over a log of the
platform's reports and writes them into the policy as its priors, with the spread of its
reporters' weights that they are counted in. The log goes
through the decision core exactly as live, so the guards hold: a broadcast
teaches only while no detector sees anything on it, and suspect reporters weigh
nothing; abuse and campaigns in the log do not become the platform's normal.

Calibration lets the evidence speak: its prior is worth a single report and the
band around it is wide, so the result is the log's rates rather than the old
priors nudged. Rates are rounded to three significant figures: the policy file
is read by people.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alerting.baseline import BaseRateLearner, calibrated_rates
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.standing import is_credible
from alerting.state import BroadcastState
from alerting.views import PolicyFigures
from models.report import Category, ReportEvent

CALIBRATION_BAND = 1000.0
"""How far from the old priors a calibrated rate may go, either way."""


def calibration_policy(policy: Policy) -> Policy:
    """``policy`` with learning that follows the log rather than the priors."""
    learning = policy.learning.model_copy(
        update={
            "enabled": True,
            "prior_reports": 1.0,
            "prior_mix_reports": 1.0,
            "max_factor": CALIBRATION_BAND,
        }
    )
    return policy.model_copy(update={"learning": learning})


@dataclass(frozen=True, slots=True)
class Calibration:
    """What a log says of its platform: each category's base rate per viewer-second, and
    how far its ordinary reporters' weights spread (the rates are counted in those
    reporters, so a policy pinning one pins both)."""

    rates: dict[Category, float]
    weight_dispersion: float


def calibrate(reports: Iterable[ReportEvent], policy: Policy) -> Calibration:
    """The platform's rates and weight dispersion, learned from ``reports`` in log order."""
    learning = calibration_policy(policy)
    engine = DetectionEngine(learning)
    learner = BaseRateLearner()
    states: dict[str, BroadcastState] = {}
    for report in reports:
        state = states.get(report.broadcast_id)
        if state is None:
            state = states[report.broadcast_id] = BroadcastState(report.broadcast_id)
        engine.observe(state, report, learner=learner)
    return Calibration(
        {
            category: _three_figures(rate)
            for category, rate in calibrated_rates(learner, learning).items()
        },
        _three_figures(learner.estimate_dispersion(learning)),
    )


CREDIBLE_SHARE_WARNING = 0.1
"""The share of a log's scored reporters above which ``calibrate`` warns that the
single-report rule believes too many of them. The rule takes one child-safety or
violent-extremism report as proof because its reporter is exceptional; when one
reporter in ten qualifies on trust alone, the platform's trust model scores ordinary
accounts on a higher scale than the policy's, and every misfiled report of theirs in
those categories pages a person at critical severity. Learning cannot notice this (a
single report is not a rate), so it is told before the policy is deployed."""


@dataclass(frozen=True, slots=True)
class CredibleReporters:
    """How many of a log's reporters the single-report rule (``credible_report``) would
    believe on their trust score alone, trusted flaggers aside: those are credible by the
    platform's own word, whatever its scale."""

    credible: int
    scored: int
    """Distinct reporters who sent a trust score and are not trusted flaggers."""
    broadcasts_paged: int
    """Broadcasts with at least one report of a credible category from such a reporter:
    each would open an incident on that report alone."""
    trust_quantiles: tuple[float, float] | None
    """The scored reporters' median and 90th-percentile trust, or None without any."""

    @property
    def share(self) -> float:
        return self.credible / self.scored if self.scored else 0.0

    @property
    def too_many(self) -> bool:
        return self.share > CREDIBLE_SHARE_WARNING


def credible_reporters(reports: Iterable[ReportEvent], policy: Policy) -> CredibleReporters:
    """Each reporter judged once, by the newest standing the log gives it."""
    figures = PolicyFigures(policy)
    standing: dict[str, tuple[bool, float]] = {}
    paged: set[str] = set()
    categories = policy.credible_report.categories
    for report in reports:
        reporter = report.reporter
        if reporter is None or reporter.trust is None or reporter.trusted_flagger:
            continue
        credible = is_credible(
            reporter.account_age_days, reporter.trust, reporter.was_viewing, False, figures
        )
        standing[report.reporter_id] = (credible, reporter.trust)
        if credible and report.category in categories:
            paged.add(report.broadcast_id)
    trusts = sorted(trust for _, trust in standing.values())
    quantiles = None
    if trusts:
        quantiles = (trusts[(len(trusts) - 1) // 2], trusts[(len(trusts) - 1) * 9 // 10])
    return CredibleReporters(
        credible=sum(credible for credible, _ in standing.values()),
        scored=len(standing),
        broadcasts_paged=len(paged),
        trust_quantiles=quantiles,
    )


CALIBRATED_SUFFIX = "-calibrated"
MAX_POLICY_VERSION_LENGTH = 64


def calibrated_version(version: str) -> str:
    """The version of a policy calibrated from one versioned ``version``: its rates differ,
    so its pages must not carry the version of rates that did not produce them. Calibrating
    a calibrated policy again does not stack the suffix."""
    base = version.removesuffix(CALIBRATED_SUFFIX)
    return base[: MAX_POLICY_VERSION_LENGTH - len(CALIBRATED_SUFFIX)] + CALIBRATED_SUFFIX


def with_calibration(document: dict[str, Any], calibration: Calibration) -> dict[str, Any]:
    """A policy document (as read from YAML) with its categories' base rates and its
    learning's weight dispersion replaced and its version marked calibrated
    (:func:`calibrated_version`)."""
    categories = {
        name: {**route, "base_rate_per_viewer_second": calibration.rates[Category(name)]}
        for name, route in document["categories"].items()
    }
    learning = {**document.get("learning", {}), "weight_dispersion": calibration.weight_dispersion}
    version = calibrated_version(str(document["policy_version"]))
    return {
        **document,
        "policy_version": version,
        "learning": learning,
        "categories": categories,
    }


def _three_figures(rate: float) -> float:
    if rate <= 0:
        return rate
    return round(rate, 2 - math.floor(math.log10(rate)))
