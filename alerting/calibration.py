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
priors nudged. And it forgets nothing: the worker's learner follows the platform's
level with a half-life of minutes, which in calibration made the rates written those of
the log's last few minutes (an evening log's peak), and of one partition's alone when a
topic was read a partition at a time. Without decay, the evidence is a sum, and the
rates are the whole log's. As in the worker, each input partition has its own learner
(its detectors, hence the guards, read the rates their partition has learned), and the
sums are added up at the end. Rates are rounded to three significant figures: the
policy file is read by people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alerting.baseline import BaseRateLearner, added_up, calibrated_rates
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.standing import is_credible
from alerting.state import BroadcastState
from alerting.views import PolicyFigures
from models.report import Category, ReportEvent

CALIBRATION_BAND = 1000.0
"""How far from the old priors a calibrated rate may go, either way."""

NEVER_FORGET_SECONDS = 1e15
"""The calibration learner's half-lives: longer than any log, so nothing decays."""

TICK_SECONDS = 1.0
"""How often, in a partition's event time, its broadcasts are ticked: the worker's
resolve timer's period, and replay's."""


def calibration_policy(policy: Policy) -> Policy:
    """``policy`` with learning that follows the whole log rather than the priors."""
    learning = policy.learning.model_copy(
        update={
            "enabled": True,
            "prior_reports": 1.0,
            "prior_mix_reports": 1.0,
            "max_factor": CALIBRATION_BAND,
            "level_half_life_seconds": NEVER_FORGET_SECONDS,
            "half_life_seconds": NEVER_FORGET_SECONDS,
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


class Calibrator:
    """The decision core over a log, report by report, learning as the worker does.

    Each partition's broadcasts are ticked as its clock (its newest event time counted)
    passes each second, as replay ticks them: incidents resolve once quiet, so a broadcast
    that had one teaches again, and idle broadcasts are dropped, so a log of days holds
    in memory the broadcasts of minutes.
    """

    def __init__(self, policy: Policy) -> None:
        self._learning = calibration_policy(policy)
        self._engine = DetectionEngine(self._learning)
        self._learners: dict[int, BaseRateLearner] = {}
        self._states: dict[int, dict[str, BroadcastState]] = {}
        self._clocks: dict[int, float] = {}
        self._ticked: dict[int, float] = {}

    def observe(
        self, report: ReportEvent, partition: int = 0, record_time: float | None = None
    ) -> None:
        """``partition`` the input partition the report's broadcast is read from,
        ``record_time`` its Kafka record's timestamp when it has one (seconds)."""
        states = self._states.get(partition)
        if states is None:
            states = self._states[partition] = {}
        state = states.get(report.broadcast_id)
        if state is None:
            state = states[report.broadcast_id] = BroadcastState(report.broadcast_id)
        learner = self._learners.get(partition)
        if learner is None:
            learner = self._learners[partition] = BaseRateLearner()
        counted_at = report.event_time
        observation = self._engine.observe(
            state, report, learner=learner, event_time=counted_at, record_time=record_time
        )
        if observation.late:
            return
        if observation.clock is not None and record_time is not None:
            counted_at = record_time
        clock = max(counted_at, self._clocks.get(partition, counted_at))
        self._clocks[partition] = clock
        ticked = self._ticked.get(partition)
        if ticked is None or clock - ticked >= TICK_SECONDS:
            self._ticked[partition] = clock
            for idle in [
                broadcast
                for broadcast, known in states.items()
                if self._engine.tick(known, clock).evictable
            ]:
                del states[idle]

    @property
    def broadcasts_held(self) -> int:
        """Broadcasts whose state is held now: those live within the last window or with
        an incident open, however long the log."""
        return sum(len(states) for states in self._states.values())

    def result(self) -> Calibration:
        learner = added_up(self._learners.values())
        return Calibration(
            {
                category: _three_figures(rate)
                for category, rate in calibrated_rates(learner, self._learning).items()
            },
            _three_figures(learner.estimate_dispersion(self._learning)),
        )


CREDIBLE_SHARE_WARNING = 0.1
"""The share of a log's scored reports above which ``calibrate`` warns that the
single-report rule believes too many of them. The rule takes one child-safety or
violent-extremism report as proof because its reporter is exceptional; when one report
in ten comes from a reporter who qualifies on trust alone, the platform's trust model
scores ordinary accounts on a higher scale than the policy's, and every misfiled report
of theirs in those categories pages a person at critical severity. Learning cannot
notice this (a single report is not a rate), so it is told before the policy is
deployed."""

TRUST_BINS = 100
"""Trust is kept as a histogram of hundredths: quantiles to a hundredth, in memory that
does not grow with the log (a week of a large platform has millions of reporters)."""


@dataclass(frozen=True, slots=True)
class CredibleReports:
    """How many of a log's reports the single-report rule (``credible_report``) would
    believe on their reporter's trust score alone, trusted flaggers aside: those are
    credible by the platform's own word, whatever its scale."""

    credible: int
    scored: int
    """Reports whose reporter has a trust score and is not a trusted flagger."""
    broadcasts_paged: int
    """Broadcasts with at least one report of a credible category from a reporter credible
    on trust alone: each would open an incident on that report alone."""
    trust_quantiles: tuple[float, float] | None
    """The scored reports' median and 90th-percentile trust (to a hundredth), or None."""

    @property
    def share(self) -> float:
        return self.credible / self.scored if self.scored else 0.0

    @property
    def too_many(self) -> bool:
        return self.share > CREDIBLE_SHARE_WARNING


class CredibleTally:
    """Counts :class:`CredibleReports` report by report."""

    def __init__(self, policy: Policy) -> None:
        self._figures = PolicyFigures(policy)
        self._categories = policy.credible_report.categories
        self._trust = [0] * (TRUST_BINS + 1)
        self._credible = 0
        self._paged: set[str] = set()

    def add(self, report: ReportEvent) -> None:
        reporter = report.reporter
        if reporter is None or reporter.trust is None or reporter.trusted_flagger:
            return
        self._trust[round(reporter.trust * TRUST_BINS)] += 1
        if is_credible(
            reporter.account_age_days, reporter.trust, reporter.was_viewing, False, self._figures
        ):
            self._credible += 1
            if report.category in self._categories:
                self._paged.add(report.broadcast_id)

    def result(self) -> CredibleReports:
        scored = sum(self._trust)
        return CredibleReports(
            credible=self._credible,
            scored=scored,
            broadcasts_paged=len(self._paged),
            trust_quantiles=(self._quantile(0.5), self._quantile(0.9)) if scored else None,
        )

    def _quantile(self, share: float) -> float:
        """The lowest hundredth at or below which ``share`` of the scored reports fall."""
        wanted, seen = share * sum(self._trust), 0
        for hundredth, count in enumerate(self._trust):
            seen += count
            if seen >= wanted:
                return hundredth / TRUST_BINS
        return 1.0


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
