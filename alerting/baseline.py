"""Learned base rates: per category, platform-wide, quick to calibrate, hard to poison.

Expected reports = base rate x viewers x window. The policy gives priors; this
learner moves them towards what the traffic shows, so a deployment whose real
rates are far from the shipped priors needs no hand tuning. It counts, per
category, the trust weight of reporters newly seen in a window (the same
quantity the detectors test) against the exposure the traffic implies: each
report adds ``viewers x gap`` viewer-seconds, ``gap`` being the time since the
previous report of the same broadcast, capped so a broadcast that has gone quiet
does not count as watched. A broadcast's first report only starts its clock and
teaches nothing: counted with no exposure before it, the first reports of the
many quiet broadcasts would make the platform look several times louder than it
is. Evidence decays with a half-life in event time.

Two things are learned at two speeds. How loud the platform is, the total rate
over all categories, with the priors' total worth ``prior_reports`` reports::

    total = (prior total * E0 + decayed weight) / (E0 + decayed exposure)
    E0 = prior_reports / prior total

and what it reports, each category's share of that total, with the priors' mix
worth ``prior_mix_reports`` reports::

    share = (prior share * M0 + decayed category weight) / (M0 + decayed weight)

A category's rate is ``total x share``, clamped to ``[prior / max_factor, prior *
max_factor]``. The total's prior is worth little on purpose: a cold-started
worker whose platform reports at ten times (or a tenth of) the priors must page
no ordinary broadcast from its first minutes, and a partition sees only its share
of the traffic. The mix moves more slowly because rare categories (a few reports
an hour) would otherwise swing with every report; scaling all categories together
first also keeps them consistent with a broadcast's own history
(:mod:`alerting.history`), which is kept across categories.

A third thing is learned with the mix's half-life: how far the trust weights of the
reporters it learns from spread, their ``dispersion`` ``sum(w^2) / sum(w)``. Every test
reads a sum of weights as if it were a count of independent reporters (a Poisson or
binomial tail, a CUSUM), which holds only when an ordinary reporter weighs one: the sum
of ``n`` reporters who each weigh ``c`` varies ``c`` times as much as ``n`` does, so on a
platform whose trust scores sit above ``trust.neutral_trust`` (ordinary reporters
weighing 1.2-1.6) four viewers passed the five-reporter floor and every tail and ramp
read ordinary fluctuations as improbable. The engine divides each reporter's weight by
the dispersion, never below one (:func:`alerting.standing.scaled_standing`), so the sums
are counted in ordinary reporters again (a weight sum over ``c`` is exactly a Poisson
count when all weigh ``c``, and nearly one when they spread), and a reporter trusted
above the platform's ordinary ones still weighs more than one. It is learned
from raw weights (never the divided ones, which would teach it one), its prior is
``learning.weight_dispersion`` worth ``prior_reports`` reporters, and it stays within
one and the largest weight a reporter can have. Suspect reporters weigh nothing and
move neither sum.

Why a small prior cannot be poisoned: the engine lets a report teach only while
no detector sees anything on its broadcast (no signal, no open incident), so
every broadcast adds at most what looks ordinary under the current estimate, and
suspect reporters weigh nothing. A campaign on one broadcast, however long, adds
at most a few reports a window: a trimmed mean over broadcasts, which is what
makes it robust, while a sum of everything (or a median of per-broadcast rates,
mostly zero on small broadcasts) would not be.

Determinism: the learner evolves only with the report sequence it is fed. The
live worker keeps one learner per input partition and persists it in the state
table; replay keeps one per partition too, assigning each report to the
partition the producer's hash gives its broadcast, so a replay reproduces the
live decisions exactly. The rates the detectors read are refreshed when event
time enters a new second, not after every report: the learner moves slowly, and
computing every category's rate per report would cost more than it tells.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from alerting.policy import Policy, abuse_categories
from alerting.reporter_mark import WEIGHT_UNIT
from models.report import Category

_CATEGORIES = tuple(Category)
_AT_EDGE = 1 - 1e-9
"""A clamped rate divided by its prior is the band's edge up to rounding."""


def prior_rate(policy: Policy, category: Category) -> float:
    return policy.category(category).base_rate_per_viewer_second


def prior_rates(policy: Policy) -> dict[Category, float]:
    """Every category's prior, the rates used when nothing is learned."""
    return {category: prior_rate(policy, category) for category in _CATEGORIES}


@dataclass(slots=True)
class BaseRateLearner:
    clock: float | None = None
    exposure: float = 0.0
    """Viewer-seconds, decayed with the level's half-life."""
    level_weight: float = 0.0
    """Weight of every category together, decayed with the level's half-life."""
    weights: dict[Category, float] = field(default_factory=dict)
    """Weight per category, decayed with the mix's half-life."""
    reporter_weight: float = 0.0
    """Raw trust weight of the reporters learned from, decayed with the mix's half-life."""
    reporter_square: float = 0.0
    """Their squared raw weights, decayed alike: the dispersion's numerator."""
    _rates: dict[Category, float] | None = field(default=None, compare=False, repr=False)
    _total: float = field(default=0.0, compare=False, repr=False)
    _abuse_total: float = field(default=0.0, compare=False, repr=False)
    _dispersion: float = field(default=1.0, compare=False, repr=False)
    _rates_second: float | None = field(default=None, compare=False, repr=False)

    def estimate(self, category: Category, policy: Policy) -> float:
        """The category's rate from the evidence as it is now (not the per-second snapshot)."""
        prior = prior_rate(policy, category)
        learning = policy.learning
        if not learning.enabled:
            return prior
        prior_total = math.fsum(prior_rates(policy).values())
        anchor = learning.prior_reports / prior_total
        total = (prior_total * anchor + self.level_weight) / (anchor + self.exposure)
        weight = math.fsum(self.weights.values())
        mix = learning.prior_mix_reports
        share = (prior / prior_total * mix + self.weights.get(category, 0.0)) / (mix + weight)
        estimate = total * share
        return min(max(estimate, prior / learning.max_factor), prior * learning.max_factor)

    def rates(self, policy: Policy) -> dict[Category, float]:
        """Every category's rate as of the learner's current second (see the module doc)."""
        second = None if self.clock is None else math.floor(self.clock)
        if self._rates is None or second != self._rates_second:
            rates = {category: self.estimate(category, policy) for category in _CATEGORIES}
            self._rates = rates
            self._total = math.fsum(rates.values())
            self._abuse_total = math.fsum(rates[c] for c in abuse_categories(policy))
            self._dispersion = self.estimate_dispersion(policy)
            self._rates_second = second
        return self._rates

    def dispersion(self, policy: Policy) -> float:
        """How many times an ordinary reporter's raw weight counts for one reporter, as of
        the learner's current second, like :meth:`rates`."""
        self.rates(policy)
        return self._dispersion

    def estimate_dispersion(self, policy: Policy) -> float:
        """The learned ``sum(w^2) / sum(w)`` (see the module doc) from the evidence as it is
        now, the policy's with learning off."""
        learning = policy.learning
        if not learning.enabled:
            return learning.weight_dispersion
        prior = learning.prior_reports
        learned = (prior * learning.weight_dispersion + self.reporter_square) / (
            prior + self.reporter_weight
        )
        trust = policy.trust
        ceiling = max(1.0 + trust.high_trust_bonus, trust.trusted_flagger_weight)
        return min(max(learned, 1.0), ceiling)

    def rate(self, category: Category, policy: Policy) -> float:
        return self.rates(policy)[category]

    def total_rate(self, policy: Policy) -> float:
        """The sum of every category's rate: what a broadcast draws in all of them."""
        self.rates(policy)
        return self._total

    def abuse_rate(self, policy: Policy) -> float:
        """The sum of the abuse categories' rates (:func:`alerting.policy.abuse_categories`):
        what a broadcast draws in the broadcast-wide abuse statistic."""
        self.rates(policy)
        return self._abuse_total

    def learn(
        self,
        event_time: float,
        viewer_seconds: float,
        category: Category,
        weight_milli: int,
        policy: Policy,
        raw_weight_milli: int = 0,
    ) -> None:
        """Learn one report: ``weight_milli`` the weight it added to its window (divided by
        the dispersion), ``raw_weight_milli`` its new reporter's weight before that (0 when
        it added none)."""
        self._advance(event_time, policy)
        self.exposure += viewer_seconds
        if weight_milli:
            weight = weight_milli / WEIGHT_UNIT
            self.level_weight += weight
            self.weights[category] = self.weights.get(category, 0.0) + weight
        if raw_weight_milli:
            raw = raw_weight_milli / WEIGHT_UNIT
            self.reporter_weight += raw
            self.reporter_square += raw * raw

    def _advance(self, event_time: float, policy: Policy) -> None:
        """Decay the evidence to ``event_time``; the clock never goes back."""
        if self.clock is None or event_time > self.clock:
            if self.clock is not None:
                learning = policy.learning
                elapsed = event_time - self.clock
                level_decay = 0.5 ** (elapsed / learning.level_half_life_seconds)
                self.exposure *= level_decay
                self.level_weight *= level_decay
                mix_decay = 0.5 ** (elapsed / learning.half_life_seconds)
                for known in self.weights:
                    self.weights[known] *= mix_decay
                self.reporter_weight *= mix_decay
                self.reporter_square *= mix_decay
            self.clock = event_time

    def hold(self, event_time: float, viewer_seconds: float, rate: float, policy: Policy) -> None:
        """Count the viewer-seconds of a broadcast the learner may not learn from (a detector
        sees something on it, or an incident is open) at ``rate``, the rate per viewer-second
        it was last taught at (:attr:`alerting.state.BroadcastState.taught_rate`).

        The estimate is a sum over broadcasts, and a very large one makes much of it.
        Left out, a partition's loudest broadcast took the platform's rate down by its
        share within the level's half-life, and every broadcast with a history of its own,
        whose level follows over a quarter of an hour, looked louder than it was: on a
        growing broadcast, an incident on its neighbour made its window twice what it
        expected, and it paged again minutes after its own incident had resolved. Held at
        the rate it last showed, it counts as it was, teaches nothing of what is going on
        on it, and its mix nothing at all. The rate is fixed, not its level times the
        learner's rate: the level is relative to that rate, and a large broadcast held
        that way would feed the learner's estimate back into itself.
        """
        self._advance(event_time, policy)
        self.exposure += viewer_seconds
        self.level_weight += viewer_seconds * rate

    def to_plain(self) -> dict[str, Any]:
        return {
            "t": self.clock,
            "e": self.exposure,
            "l": self.level_weight,
            "w": {category.value: weight for category, weight in self.weights.items()},
            "d": [self.reporter_weight, self.reporter_square],
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> BaseRateLearner:
        """A learner stored before the dispersion was learned starts it from its prior."""
        weights = {Category(c): float(w) for c, w in plain["w"].items()}
        reporter_weight, reporter_square = plain.get("d", (0.0, 0.0))
        return cls(
            clock=None if plain["t"] is None else float(plain["t"]),
            exposure=float(plain["e"]),
            level_weight=float(plain.get("l", math.fsum(weights.values()))),
            weights=weights,
            reporter_weight=float(reporter_weight),
            reporter_square=float(reporter_square),
        )


class RateLimit(IntEnum):
    """Where a learned rate stands against the band ``learning.max_factor`` allows it."""

    FLOOR = -1
    """The evidence points below ``prior / max_factor``: detectors expect more than the
    platform reports, so a surge needs more reporters to page."""
    FREE = 0
    CEILING = 1
    """The evidence points above ``prior x max_factor``: detectors expect less than the
    platform reports, so ordinary broadcasts may page."""


@dataclass(frozen=True, slots=True)
class LearnedRate:
    """One category's learned rate as the engineer who runs the worker reads it."""

    ratio: float
    """The rate the detectors use over the policy's prior."""
    limit: RateLimit


def learned_rates(learner: BaseRateLearner, policy: Policy) -> dict[Category, LearnedRate]:
    """Every category's rate as the detectors read it (the learner's per-second snapshot),
    against its prior.

    A rate held at the band's edge is the one thing learning cannot fix on its own: the
    platform is further from the priors than the policy lets the learner move, and only
    new priors (``spikewatch calibrate``) or a wider band bring the detectors back.
    """
    ceiling, floor = policy.learning.max_factor, 1 / policy.learning.max_factor
    snapshot = learner.rates(policy)
    rates: dict[Category, LearnedRate] = {}
    for category, prior in prior_rates(policy).items():
        ratio = snapshot[category] / prior
        limit = RateLimit.FREE
        if policy.learning.enabled and ratio >= ceiling * _AT_EDGE:
            limit = RateLimit.CEILING
        elif policy.learning.enabled and ratio <= floor / _AT_EDGE:
            limit = RateLimit.FLOOR
        rates[category] = LearnedRate(ratio, limit)
    return rates


def added_up(learners: Iterable[BaseRateLearner]) -> BaseRateLearner:
    """One learner holding the evidence of all of ``learners``: their sums added, which is
    their joint evidence only when nothing decays (``spikewatch calibrate``'s learners,
    one per partition); the clock is left unset."""
    total = BaseRateLearner()
    for learner in learners:
        total.exposure += learner.exposure
        total.level_weight += learner.level_weight
        for category, weight in learner.weights.items():
            total.weights[category] = total.weights.get(category, 0.0) + weight
        total.reporter_weight += learner.reporter_weight
        total.reporter_square += learner.reporter_square
    return total


def calibrated_rates(learner: BaseRateLearner, policy: Policy) -> dict[Category, float]:
    """What ``spikewatch calibrate`` pins as priors: the learner's estimates, unrounded."""
    return {category: learner.estimate(category, policy) for category in _CATEGORIES}
