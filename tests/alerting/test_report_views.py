"""A report's two views: which reporters each holds, and where the short test runs."""

from __future__ import annotations

from alerting.engine import DetectionEngine
from alerting.report_views import adds_nothing
from alerting.state import BroadcastState
from alerting.views import ViewOdds
from models.report import Category
from tests.alerting.helpers import ORDINARY, T0, make_report


def views_after(
    engine: DetectionEngine, reports: list[tuple[str, str, float]], viewers: int | None
) -> tuple[BroadcastState, ViewOdds, ViewOdds]:
    """The views of the last report's category once ``(reporter, category, offset)``
    have been observed on one broadcast."""
    state = BroadcastState("b-1")
    for reporter, category, offset in reports:
        engine.observe(
            state,
            make_report(
                reporter, at=T0 + offset, category=category, viewers=viewers, reporter=ORDINARY
            ),
        )
    category = Category(reports[-1][1])
    rates = engine.expectation.rates(state, engine.expectation.population(None))
    bucket = engine.shape.bucket_of(T0 + reports[-1][2])
    unsettled = engine.policy.history.unsettled_rate_variation
    category_odds, broadcast_odds = engine.views.of_report(
        state, category, state.windows[category], rates, bucket, level_variation=unsettled
    )
    return state, category_odds, broadcast_odds


def test_the_broadcast_view_counts_a_reporter_once_across_categories(
    engine: DetectionEngine,
) -> None:
    reports = [("v-3", "harassment", 0.0), ("v-1", "harassment", 1.0)]
    reports += [("v-1", "hateful_conduct", 2.0), ("v-2", "hateful_conduct", 3.0)]
    state, category_odds, broadcast_odds = views_after(engine, reports, viewers=5_000)

    assert category_odds.view.distinct_reporters == 2
    assert broadcast_odds.view.distinct_reporters == 3
    assert broadcast_odds.view.all_categories
    assert not adds_nothing(
        state, state.windows[Category.HATEFUL_CONDUCT], broadcast_odds, category_odds
    )


def test_a_broadcast_reported_under_one_category_needs_no_broadcast_wide_test(
    engine: DetectionEngine,
) -> None:
    reports = [(f"v-{index}", "harassment", float(index)) for index in range(4)]
    state, category_odds, broadcast_odds = views_after(engine, reports, viewers=5_000)

    assert adds_nothing(state, state.windows[Category.HARASSMENT], broadcast_odds, category_odds)


def test_the_short_test_runs_where_half_a_minute_expects_enough(engine: DetectionEngine) -> None:
    reports = [("v-1", "harassment", 0.0), ("v-2", "harassment", 100.0)]
    _, large, _ = views_after(engine, reports, viewers=500_000)
    _, tiny, _ = views_after(engine, reports, viewers=50)

    assert large.view.recent_seconds > 0
    assert large.view.recent_weighted == 1.0
    assert tiny.view.recent_seconds == 0.0
    assert tiny.view.recent_weighted == 0.0


def test_a_late_report_is_judged_in_the_short_span_it_belongs_to(
    engine: DetectionEngine,
) -> None:
    """Four viewers within 4 s, then one report a minute on (the newest), then a fifth
    viewer of the first span delivered late: the span judged ends at the late report's
    bucket and holds the five of them, not the newest report alone."""
    surge = [(f"v-{index}", "harassment", float(index)) for index in range(4)]
    reports = [*surge, ("newest", "harassment", 50.0), ("late", "harassment", 4.5)]
    state, odds, _ = views_after(engine, reports, viewers=500_000)

    assert state.watermark == T0 + 50.0
    assert odds.view.recent_seconds > 0
    assert odds.view.recent_weighted == 5.0


def test_an_unknown_audiences_short_test_counts_the_spans_own_reporters(
    engine: DetectionEngine,
) -> None:
    """Three spam reporters a minute before, six harassment ones now: the span's own
    reporters are the six (the spam ones are in the window, not in the span), and the
    share's wandering is the usual one, not an unsettled level's."""
    reports = [(f"s-{index}", "spam", float(index)) for index in range(3)]
    reports += [(f"v-{index}", "harassment", 60.0 + index) for index in range(6)]
    _, category_odds, _ = views_after(engine, reports, viewers=None)

    view = category_odds.view
    assert view.recent_seconds == 30.0
    assert (view.own_weight, view.recent_own_weight, view.recent_weighted) == (9.0, 6.0, 6.0)
    assert view.recent_variation == engine.policy.spike.rate_variation


def test_a_sized_broadcasts_short_test_allows_its_levels_variation(
    engine: DetectionEngine,
) -> None:
    """The level's variation comes from the broadcast's history
    (``BroadcastHistory.level_variation``); the view carries it to the short test as it is."""
    state = BroadcastState("b-1")
    engine.observe(state, make_report("v-1", viewers=500_000, reporter=ORDINARY))
    rates = engine.expectation.rates(state, engine.expectation.population(None))
    window = state.windows[Category.HARASSMENT]

    def variation(level_variation: float) -> float:
        bucket = engine.shape.bucket_of(T0)
        odds, broadcast_odds = engine.views.of_report(
            state, Category.HARASSMENT, window, rates, bucket, level_variation=level_variation
        )
        assert broadcast_odds.view.recent_variation == odds.view.recent_variation
        return odds.view.recent_variation

    assert (variation(0.6), variation(0.2)) == (0.6, 0.2)
