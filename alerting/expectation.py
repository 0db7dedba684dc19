"""What a broadcast is expected to draw: the population's rates, learned or the
policy's priors, scaled by the broadcast's own history, or, for a broadcast of unknown
audience, by its own reporters.

Two sums of the population's rates are kept apart: the abuse categories' (what the
broadcast-wide view counts, :func:`alerting.policy.abuse_categories`) and every
category's (what the broadcast's history and an unknown audience's scale count).
"""

from __future__ import annotations

import math

from alerting.baseline import BaseRateLearner, prior_rates
from alerting.evidence import Rates
from alerting.incidents import incident_categories
from alerting.policy import Policy
from alerting.ramp import loudness_elsewhere
from alerting.reporter_mark import WEIGHT_UNIT
from alerting.state import BroadcastState
from alerting.views import PolicyFigures
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.report import Category


class Expectation:
    def __init__(
        self,
        policy: Policy,
        figures: PolicyFigures,
        shape: WindowShape,
        abuse: frozenset[Category],
    ) -> None:
        self.policy = policy
        self.figures = figures
        self.shape = shape
        self.abuse = abuse
        self.history_policy = policy.history
        self.priors = prior_rates(policy)
        self.prior_abuse_total = math.fsum(self.priors[c] for c in abuse)
        self.prior_total = math.fsum(self.priors.values())
        self.elsewhere_buckets = max(
            1, min(shape.bucket_count, round(policy.ramp.elsewhere_seconds / shape.bucket_seconds))
        )

    def population(
        self, learner: BaseRateLearner | None
    ) -> tuple[dict[Category, float], float, float]:
        """The population's rates per category, the abuse categories' sum (what the
        broadcast-wide view counts) and every category's (what the history counts):
        learned, else the priors."""
        if learner is None:
            return self.priors, self.prior_abuse_total, self.prior_total
        policy = self.policy
        return learner.rates(policy), learner.abuse_rate(policy), learner.total_rate(policy)

    def dispersion(self, learner: BaseRateLearner | None) -> float:
        """How many times an ordinary reporter's raw weight counts for one reporter
        (:meth:`alerting.baseline.BaseRateLearner.dispersion`): learned, else the policy's."""
        if learner is None:
            return self.policy.learning.weight_dispersion
        return learner.dispersion(self.policy)

    def rates(
        self, state: BroadcastState, population: tuple[dict[Category, float], float, float]
    ) -> Rates:
        """The rates a decision uses, scaled by the broadcast's own history.

        A broadcast whose audience is unknown (no report has carried ``viewer_count``) has
        no scale: the default audience may be a thousand times too small or too large,
        and against it an ordinary large broadcast pages within seconds. Its only scale is
        itself: the factor makes the broadcast-wide expectation exactly the weight its
        window holds, so each category expects its population share of the broadcast's
        own reporters. What can then be improbable is a category taking far more than its
        share (a surge filed under one category), whatever the broadcast's size.
        """
        by_category, total, every = population
        audience = self.figures.audience(state.viewers)
        if state.viewers is not None:
            history, policy = state.history, self.history_policy
            level = history.factor(policy)
            tilt = history.tilt(by_category, every, level, policy) if history.mix else None
            return Rates(by_category, total, level, audience, tilt=tilt, abuse=self.abuse)
        own_weight = state.own_weight_milli(self.abuse) / WEIGHT_UNIT
        scale = every * audience * self.shape.length_seconds
        factor = own_weight / scale if scale > 0 else 0.0
        return Rates(by_category, total, factor, audience, own_weight)

    def loudness_elsewhere(
        self,
        category: Category,
        window: CategoryWindow,
        combined: CategoryWindow,
        rates: Rates,
        bucket: int,
    ) -> float:
        """How much louder than its level the broadcast's abuse categories other than
        ``category`` were over the buckets just closed (``ramp.elsewhere_seconds``, the
        window at most): the ramp's ``lambda0`` and window guard follow the whole broadcast
        getting louder (:func:`alerting.ramp.loudness_elsewhere`)."""
        first, last = bucket - self.elsewhere_buckets, bucket - 1
        abuse = category in self.abuse
        own_milli = window.weight_between(first, last) if abuse else 0
        rest_milli = combined.weight_between(first, last) - own_milli
        rest_rate = rates.abuse_rate - (rates.of(category) if abuse else 0.0)
        return loudness_elsewhere(
            max(0, rest_milli) / WEIGHT_UNIT,
            rest_rate * rates.audience * self.elsewhere_buckets * self.shape.bucket_seconds,
            self.policy.history.prior_reports,
        )

    def loudness_beside(self, state: BroadcastState, rates: Rates) -> float:
        """How many times louder than its level the broadcast's categories outside its open
        incidents are over the window (:func:`alerting.ramp.loudness_elsewhere`), each
        category at its own tilt: what an open incident is kept open against
        (:attr:`alerting.views.ViewOdds.sustain_p_value`). 1 for a broadcast of unknown
        audience, whose scale is its own reporters already."""
        if rates.own_weight > 0.0:
            return 1.0
        inside = incident_categories(state.incidents.values())
        windows = state.windows
        rest_milli = state.own_weight_milli(self.abuse) - sum(
            windows[c].weight_milli for c in inside if c in windows
        )
        rest_rate = sum(rates.of(c) for c in rates.by_category if c not in inside)
        return loudness_elsewhere(
            max(0, rest_milli) / WEIGHT_UNIT,
            rest_rate * rates.audience * self.shape.length_seconds,
            self.policy.history.prior_reports,
        )

    def exposure(
        self,
        state: BroadcastState,
        previous_watermark: float | None,
        event_time: float,
        record_time: float | None,
    ) -> float:
        """Viewer-seconds since the broadcast's previous report, the gap capped.

        The gap is measured in Kafka record time where the report and the broadcast's
        previous one both carry it (:attr:`BroadcastState.record_clock`), else in event
        time. Event time is a device's claim: a broadcast's first report from a phone
        minutes behind starts the broadcast's clock minutes early, and the gap to its next
        (correct) report would count minutes of viewers during which nobody could have
        reported. On a large broadcast that is worth hundreds of expected reports, and
        the learner took it for a platform ten times quieter than it was. Record times
        cannot be skewed by a device, and a report delivered late only moves the clock
        ahead early: the gaps still add up to the time that passed.

        The viewers are the audience the expectation uses (:meth:`PolicyFigures.audience`). Neither
        the learner, which estimates reports per viewer, nor the broadcast's history learns
        from a broadcast whose audience is still unknown (see :meth:`DetectionEngine.observe` and
        :meth:`rates`): its reports counted against the default audience would make the
        whole platform, or the broadcast itself, look louder than it is.
        """
        clock = state.record_clock
        if record_time is not None and clock is not None:
            gap = record_time - clock
        elif previous_watermark is not None:
            gap = event_time - previous_watermark
        else:
            return 0.0
        if gap <= 0.0:
            return 0.0
        gap = min(gap, self.policy.learning.max_gap_seconds)
        return gap * self.figures.audience(state.viewers)
