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
from alerting.state import BroadcastState
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
