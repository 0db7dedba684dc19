"""The two views a report is judged in: its category's window and the broadcast-wide one.

The category view is what the credible-report, spike and ramp rules read; the
broadcast-wide view holds every abuse category's reporters, each counted once,
against the sum of those categories' rates. Both carry the short test (the newest
half-minute alone) where that span expects enough reports for it to mean anything.
"""

from __future__ import annotations

import math

from alerting.evidence import Rates
from alerting.expectation import Expectation
from alerting.reporter_mark import WEIGHT_UNIT
from alerting.standing import holds_suspect_burst, unknown_weight_lost
from alerting.state import BroadcastState
from alerting.views import CategoryView, ViewOdds
from alerting.window import CategoryWindow
from models.report import Category


class ReportViews:
    """Builds a report's two views; what they need of the policy is read once, at start."""

    def __init__(self, expectation: Expectation) -> None:
        self.expectation = expectation
        self.policy, self.figures = expectation.policy, expectation.figures
        self.shape, self.abuse = expectation.shape, expectation.abuse
        self.burst_buckets = max(
            1, math.ceil(self.policy.spike.burst_seconds / self.shape.bucket_seconds)
        )

    def of_report(
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        rates: Rates,
        bucket: int,
        *,
        level_variation: float,
    ) -> tuple[ViewOdds, ViewOdds]:
        """The category's view and the broadcast-wide one, with the odds their detectors
        share. A broadcast of unknown audience is judged by its category's share of its
        own weighted reporters (see :meth:`view`)."""
        loudness = self.expectation.loudness_beside(state, rates) if state.incidents else 1.0
        burst = holds_suspect_burst(state.combined, self.figures)
        category_odds = ViewOdds(
            self.view(
                state,
                category,
                window,
                rates.of(category),
                rates.audience,
                bucket,
                level_variation=level_variation,
                burst=burst,
                own_weight=rates.own_weight,
                ramp_rate=rates.level_of(category),
                population_rate=rates.by_category[category],
                incident_loudness=loudness,
            ),
            self.policy,
            self.figures,
        )
        broadcast_odds = ViewOdds(
            self.view(
                state,
                category,
                state.combined,
                rates.abuse_rate,
                rates.audience,
                bucket,
                level_variation=level_variation,
                burst=burst,
                all_categories=True,
                incident_loudness=loudness,
            ),
            self.policy,
            self.figures,
        )
        return category_odds, broadcast_odds

    def view(
        self,
        state: BroadcastState,
        category: Category,
        window: CategoryWindow,
        rate: float,
        audience: int,
        bucket: int,
        *,
        level_variation: float,
        burst: bool,
        all_categories: bool = False,
        own_weight: float = 0.0,
        ramp_rate: float = 0.0,
        population_rate: float = 0.0,
        incident_loudness: float = 1.0,
    ) -> CategoryView:
        """The view of ``window``, with the reporters of the short span ending in the
        report's ``bucket`` where that span expects enough reports for the short test to
        mean anything (mid-size and large audiences). ``ramp_rate`` and
        ``population_rate`` are the category's rate at the broadcast's level and its
        population rate, which the ramp's window condition and its reference are read
        against (:class:`alerting.views.CategoryView`).

        The span ends at the report's own bucket, not at the broadcast's newest: that is
        the span the report changed. Anchored at the newest, one report from a phone
        clock ahead (counted at its Kafka record time) moved the span past a surge that
        was delivered late, and the surge's own reports, arriving after it, were never
        judged in a short span at all. For a report that is the broadcast's newest, the
        two are the same span.

        The short test judges a jump against the broadcast's own level, which is known
        within ``level_variation`` (:meth:`alerting.history.BroadcastHistory.level_variation`).
        Until the history is settled that level is known only roughly (a large audience may
        draw several times the population's rate), so the test then allows for the wider
        wandering instead of staying off: a surge on a mid-size broadcast is caught in its
        first half-minute, not once the whole window notices it.

        A broadcast of unknown audience (``own_weight`` > 0) has no level to jump from; its
        short test is the category's share of the reporters of the span alone, against the
        same population share as the window's test. Judged in the whole window only, a
        category jumping tenfold on a large broadcast of unknown audience was diluted by the
        minutes of ordinary reports before it and paged long after the jump; in the span
        alone its share is plain within seconds. The share does not depend on the
        broadcast's level, so the short test allows only for the share's usual wandering.
        """
        shape = self.shape
        ramp = None if all_categories else state.ramps.get(category)
        threshold = self.figures.ramp_marks[len(state.ramps)]
        recent_seconds = self.burst_buckets * shape.bucket_seconds
        first = bucket - self.burst_buckets + 1
        recent_own_weight = 0.0
        if own_weight > 0.0:
            share = rate * audience * shape.length_seconds / own_weight
            recent_own_weight = state.own_weight_milli(self.abuse, (first, bucket)) / WEIGHT_UNIT
            recent_expected = share * recent_own_weight
        else:
            recent_expected = rate * audience * recent_seconds
        weighted = window.weighted_reporters
        unknown = window.unknown_reporters
        unknown_lost = unknown_weight_lost(unknown, state.combined, self.figures, burst=burst)
        recent_weighted = 0.0
        if recent_expected >= self.figures.burst_min_expected:
            recent_weighted = window.weight_between(first, bucket) / WEIGHT_UNIT
            if unknown_lost:
                recent_weighted *= (weighted - unknown_lost) / weighted
        else:
            recent_seconds = 0.0
        recent_variation = self.figures.rate_variation if own_weight > 0.0 else level_variation
        return CategoryView(
            category=category,
            reports=window.reports,
            distinct_reporters=window.distinct_reporters,
            credible_reporters=window.credible_reporters,
            viewers=state.viewers,
            window_seconds=shape.length_seconds,
            weighted_reporters=weighted - unknown_lost,
            suspect_reporters=window.suspect_reporters,
            base_rate=rate,
            ramp_statistic=ramp.statistic if ramp is not None else 0.0,
            ramp_tilt=ramp.reference.tilt(population_rate, self.policy.ramp)
            if ramp is not None and ramp.statistic >= threshold
            else 1.0,
            recent_weighted=recent_weighted,
            recent_seconds=recent_seconds,
            recent_variation=recent_variation,
            all_categories=all_categories,
            own_weight=own_weight,
            recent_own_weight=recent_own_weight,
            ramp_rate=ramp_rate * ramp.loudness if ramp is not None else ramp_rate,
            incident_loudness=incident_loudness,
            ramp_threshold=threshold,
        )


def adds_nothing(
    state: BroadcastState,
    window: CategoryWindow,
    broadcast_odds: ViewOdds,
    category_odds: ViewOdds,
) -> bool:
    """Whether the broadcast-wide view holds just the category's reporters, so it cannot
    be more improbable than the category's (its expectation is larger) and need not be
    assessed: the common case of a broadcast reported under one category, which saves a
    Poisson tail per report. Its short test is then on only where the category's is."""
    combined = state.combined
    return (
        combined.distinct_reporters == window.distinct_reporters
        and combined.weight_milli == window.weight_milli
        and (category_odds.view.recent_seconds > 0 or broadcast_odds.view.recent_seconds == 0)
    )
