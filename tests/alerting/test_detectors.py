"""Tests for alerting/detectors.py: audience-normalised spikes and single credible reports."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.detectors import (
    AudienceSpikeDetector,
    CredibleReportDetector,
    RampDetector,
    Signal,
    Verdict,
    capped_severity,
    default_coordination_detectors,
    default_detectors,
)
from alerting.policy import Policy
from alerting.stats import wandering_rate_upper_tail, wandering_share_upper_tail
from alerting.views import CategoryView, ViewOdds, expected_reports
from models.escalation import EscalationClass, Severity
from models.report import Category
from tests.alerting.helpers import exact_tail, with_changes


def view(
    category: Category = Category.HARASSMENT,
    *,
    distinct: int = 0,
    reports: int | None = None,
    credible: int = 0,
    viewers: int | None = 100,
    window_seconds: float = 300.0,
) -> CategoryView:
    return CategoryView(
        category=category,
        reports=distinct if reports is None else reports,
        distinct_reporters=distinct,
        credible_reporters=credible,
        viewers=viewers,
        window_seconds=window_seconds,
    )


# --- expected_reports --------------------------------------------------------------------


def test_expected_reports_matches_the_policy_comment_example(policy: Policy) -> None:
    # "2e-7 means a 10,000-viewer broadcast draws about 0.6 reports in a 5-minute window"
    expected, audience = expected_reports(view(Category.ADULT_CONTENT, viewers=10_000), policy)
    assert audience == 10_000
    assert expected == pytest.approx(2e-7 * 10_000 * 300)
    assert expected == pytest.approx(0.6)


def test_expected_reports_uses_default_viewers_when_unknown(policy: Policy) -> None:
    expected, audience = expected_reports(view(viewers=None), policy)
    assert audience == policy.spike.default_viewers
    rate = policy.category(Category.HARASSMENT).base_rate_per_viewer_second
    assert expected == pytest.approx(rate * policy.spike.default_viewers * 300)


@pytest.mark.parametrize("viewers", [0, 1, 49])
def test_expected_reports_floors_the_audience_at_min_viewers(policy: Policy, viewers: int) -> None:
    _, audience = expected_reports(view(viewers=viewers), policy)
    assert audience == policy.spike.min_viewers


def test_expected_reports_scales_with_audience_and_window(policy: Policy) -> None:
    small, _ = expected_reports(view(viewers=1_000, window_seconds=300), policy)
    large, _ = expected_reports(view(viewers=4_000, window_seconds=600), policy)
    assert large == pytest.approx(small * 8)


# --- AudienceSpikeDetector ---------------------------------------------------------------


def test_audience_spike_fires_on_enough_improbable_distinct_reporters(policy: Policy) -> None:
    floor = policy.spike.min_distinct_reporters
    mean = 3e-7 * 100 * 300  # harassment on 100 viewers
    assert exact_tail(floor, mean) <= policy.spike.trigger_p_value
    verdict = AudienceSpikeDetector().evaluate(view(distinct=floor, viewers=100), policy)
    assert verdict.signal is Signal.FIRE
    assert verdict.severity is Severity.ERROR
    assert verdict.escalation_class is EscalationClass.REPORT_SPIKE
    assert verdict.figures["distinct_reporters"] == floor
    assert verdict.figures["audience"] == 100
    assert verdict.figures["p_value"] == pytest.approx(exact_tail(floor, mean), rel=1e-6)


def test_audience_spike_below_the_distinct_floor_only_sustains(policy: Policy) -> None:
    below = policy.spike.min_distinct_reporters - 1
    mean = 3e-7 * 100 * 300
    # improbable enough, but too few people: hold an incident open, never open one
    assert exact_tail(below, mean) <= policy.spike.trigger_p_value
    verdict = AudienceSpikeDetector().evaluate(view(distinct=below, viewers=100), policy)
    assert verdict.signal is Signal.SUSTAIN


def test_audience_spike_between_the_marks_sustains(policy: Policy) -> None:
    # harassment, 2,000 viewers: mean 0.18; find a count between the two marks from exact sums
    mean = 3e-7 * 2_000 * 300
    count = next(
        k
        for k in range(1, 50)
        if exact_tail(k, mean) <= policy.spike.sustain_p_value
        and exact_tail(k, mean) > policy.spike.trigger_p_value * 1.01
    )
    assert count >= 1
    verdict = AudienceSpikeDetector().evaluate(view(distinct=count, viewers=2_000), policy)
    assert verdict.signal is Signal.SUSTAIN


def large_view(
    weighted: int, expected: float, *, ramp_statistic: float = 0.0, incident_loudness: float = 1.0
) -> CategoryView:
    """Harassment on a 50k-viewer broadcast whose window expects ``expected`` reporters."""
    return CategoryView(
        category=Category.HARASSMENT,
        reports=weighted,
        distinct_reporters=weighted,
        credible_reporters=0,
        viewers=50_000,
        window_seconds=300.0,
        base_rate=expected / (50_000 * 300.0),
        ramp_statistic=ramp_statistic,
        incident_loudness=incident_loudness,
        ramp_threshold=10.0,
    )


def test_a_window_above_the_low_mark_only_as_loud_as_the_rest_of_the_broadcast_sustains_nothing(
    policy: Policy,
) -> None:
    """An open incident is kept open against the level raised by how loud the broadcast is
    outside it: a large broadcast getting louder all over is not an incident going on."""
    count = next(
        k
        for k in range(100, 400)
        if wandering_rate_upper_tail(k, 100.0, policy.spike.rate_variation)
        <= policy.spike.sustain_p_value
    )
    detector = AudienceSpikeDetector()
    assert detector.evaluate(large_view(count, 100.0), policy).signal is Signal.SUSTAIN
    verdict = detector.evaluate(large_view(count, 100.0, incident_loudness=1.6), policy)
    assert verdict.signal is Signal.NONE
    assert "1.60x its level" in verdict.reason


def test_a_ramp_remembered_over_an_ordinary_window_neither_pages_nor_sustains(
    policy: Policy,
) -> None:
    """The CUSUM remembers a burst until the drift pays it off, far longer than the burst on
    a large broadcast: kept as a sustaining signal, it held an incident open for an hour."""
    ordinary = RampDetector().evaluate(large_view(20, 20.0, ramp_statistic=40.0), policy)
    assert ordinary.signal is Signal.NONE
    assert "ordinary level" in ordinary.reason
    above = RampDetector().evaluate(large_view(60, 20.0, ramp_statistic=40.0), policy)
    assert above.signal is Signal.FIRE
    few = RampDetector().evaluate(large_view(6, 0.5, ramp_statistic=40.0), policy)
    assert few.signal is Signal.SUSTAIN, "above the window's mark, below the weighted floor"


def test_audience_spike_on_a_huge_audience_is_normal(policy: Policy) -> None:
    # 30 distinct reporters among 2,000,000 viewers: 180 are expected
    verdict = AudienceSpikeDetector().evaluate(view(distinct=30, viewers=2_000_000), policy)
    assert verdict.signal is Signal.NONE
    assert verdict.figures["expected_reports"] == pytest.approx(3e-7 * 2_000_000 * 300)


def test_audience_spike_with_no_reporters_is_none(policy: Policy) -> None:
    verdict = AudienceSpikeDetector().evaluate(view(distinct=0, viewers=50), policy)
    assert verdict.signal is Signal.NONE


def test_audience_spike_severity_is_capped_for_spam(policy: Policy) -> None:
    verdict = AudienceSpikeDetector().evaluate(view(Category.SPAM, distinct=5_000), policy)
    assert verdict.signal is Signal.FIRE
    assert verdict.severity is Severity.WARNING


# --- CredibleReportDetector --------------------------------------------------------------


@pytest.mark.parametrize("category", [Category.CHILD_SAFETY, Category.VIOLENT_EXTREMISM])
def test_credible_report_fires_critical_on_one_credible_report_in_watched_category(
    policy: Policy, category: Category
) -> None:
    verdict = CredibleReportDetector().evaluate(view(category, distinct=1, credible=1), policy)
    assert verdict.signal is Signal.FIRE
    assert verdict.severity is Severity.CRITICAL
    assert verdict.escalation_class is EscalationClass.CRITICAL_REPORT


def test_credible_report_without_credible_reporters_is_none(policy: Policy) -> None:
    verdict = CredibleReportDetector().evaluate(
        view(Category.CHILD_SAFETY, distinct=3, credible=0), policy
    )
    assert verdict.signal is Signal.NONE


def test_credible_report_ignores_unwatched_categories(policy: Policy) -> None:
    verdict = CredibleReportDetector().evaluate(
        view(Category.HARASSMENT, distinct=3, credible=3), policy
    )
    assert verdict.signal is Signal.NONE
    assert verdict.figures["category_escalates_on_one_report"] is False


def test_credible_report_severity_is_capped_when_spam_is_watched(policy: Policy) -> None:
    watching_spam = with_changes(policy, credible_report={"categories": ["child_safety", "spam"]})
    verdict = CredibleReportDetector().evaluate(
        view(Category.SPAM, distinct=1, credible=1), watching_spam
    )
    assert verdict.signal is Signal.FIRE
    assert verdict.severity is Severity.WARNING


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(Category))
def test_capped_severity_never_exceeds_the_route_ceiling(
    policy: Policy, category: Category
) -> None:
    ceiling = policy.category(category).max_severity
    for severity in Severity:
        capped = capped_severity(severity, policy, category)
        assert capped.rank <= ceiling.rank
        assert capped.rank == min(severity.rank, ceiling.rank)


@pytest.mark.parametrize("signal", list(Signal))
def test_verdict_as_rule_firing_fires_only_for_fire(signal: Signal) -> None:
    verdict = Verdict(
        rule="r",
        signal=signal,
        severity=Severity.INFO,
        escalation_class=EscalationClass.REPORT_SPIKE,
        reason="because",
        figures={"n": 1},
    )
    firing = verdict.as_rule_firing()
    assert firing.fired is (signal is Signal.FIRE)
    assert firing.rule == "r"
    assert firing.reason == "because"
    assert firing.figures == {"n": 1}


def test_default_detectors_are_credible_report_audience_spike_and_ramp() -> None:
    assert [detector.name for detector in default_detectors()] == [
        "credible_report",
        "audience_spike",
        "report_ramp",
    ]


def test_signals_are_ordered_none_sustain_fire() -> None:
    assert Signal.NONE < Signal.SUSTAIN < Signal.FIRE


# --- assessment and explanation ------------------------------------------------------------


@st.composite
def views(draw: st.DrawFn) -> CategoryView:
    """Views from quiet to flooded, with trust weights, suspects, learned rates and ramps."""
    distinct = draw(st.integers(min_value=0, max_value=60))
    return CategoryView(
        category=draw(st.sampled_from(list(Category))),
        reports=distinct + draw(st.integers(min_value=0, max_value=30)),
        distinct_reporters=distinct,
        credible_reporters=draw(st.integers(min_value=0, max_value=distinct)),
        viewers=draw(st.none() | st.integers(min_value=0, max_value=5_000_000)),
        window_seconds=300.0,
        weighted_reporters=draw(
            st.none()
            | st.integers(min_value=0, max_value=3 * distinct * 1000).map(lambda w: w / 1000)
        ),
        suspect_reporters=draw(st.integers(min_value=0, max_value=distinct)),
        base_rate=draw(st.none() | st.floats(min_value=1e-9, max_value=1e-5)),
        ramp_statistic=draw(st.floats(min_value=0.0, max_value=30.0)),
        incident_loudness=draw(st.floats(min_value=1.0, max_value=5.0)),
        ramp_threshold=draw(st.floats(min_value=7.0, max_value=12.0)),
    )


ALL_DETECTORS = default_detectors() + default_coordination_detectors()


@settings(max_examples=500, deadline=None)
@given(seen=views())
def test_assessment_is_what_the_full_verdict_says(policy: Policy, seen: CategoryView) -> None:
    for detector in ALL_DETECTORS:
        verdict = detector.explain(ViewOdds(seen, policy))
        assessment = detector.assess(ViewOdds(seen, policy))
        if verdict.signal is Signal.NONE:
            assert assessment is None
        else:
            assert assessment is not None
            assert (assessment.signal, assessment.severity, assessment.escalation_class) == (
                verdict.signal,
                verdict.severity,
                verdict.escalation_class,
            )


@settings(max_examples=500, deadline=None)
@given(seen=views())
def test_explanation_from_shared_odds_equals_a_verdict_built_alone(
    policy: Policy, seen: CategoryView
) -> None:
    shared = ViewOdds(seen, policy)
    assessed = [detector.assess(shared) for detector in ALL_DETECTORS]
    explained = [detector.explain(shared) for detector in ALL_DETECTORS]
    assert explained == [detector.explain(ViewOdds(seen, policy)) for detector in ALL_DETECTORS]
    assert assessed == [detector.assess(ViewOdds(seen, policy)) for detector in ALL_DETECTORS]


def test_view_odds_are_the_expectation_and_tails_the_verdicts_report(policy: Policy) -> None:
    seen = CategoryView(
        category=Category.HARASSMENT,
        reports=12,
        distinct_reporters=10,
        credible_reporters=0,
        viewers=100,
        window_seconds=300.0,
        weighted_reporters=9.5,
        suspect_reporters=3,
    )
    odds = ViewOdds(seen, policy)
    expected, audience = expected_reports(seen, policy)
    assert (odds.expected, odds.audience, odds.observed) == (expected, audience, 9)
    assert odds.p_value == pytest.approx(exact_tail(9, expected), rel=1e-9)
    assert odds.suspect_p_value == pytest.approx(exact_tail(3, expected), rel=1e-9)
    spike = AudienceSpikeDetector().explain(odds)
    assert spike.figures["p_value"] == odds.p_value
    assert spike.figures["expected_reports"] == round(expected, 6)


def short_span(recent_weighted: float) -> CategoryView:
    """16,000 viewers: about one harassment report a half-minute, ten in the window."""
    return CategoryView(
        category=Category.HARASSMENT,
        reports=10,
        distinct_reporters=10,
        credible_reporters=0,
        viewers=16_000,
        window_seconds=300.0,
        base_rate=2e-6,
        recent_weighted=recent_weighted,
        recent_seconds=30.0,
    )


def test_the_short_test_shares_the_windows_mark_among_its_half_minutes(policy: Policy) -> None:
    """Nine reporters in a half-minute that expects 0.96 (p about 1e-6) would page somewhere
    on a busy platform every few minutes: the short test's mark is the window's divided
    among the window's half-minutes."""
    detector = AudienceSpikeDetector()
    nine, twelve = ViewOdds(short_span(9.0), policy), ViewOdds(short_span(12.0), policy)
    mark = detector.recent_trigger_p_value(nine)
    assert mark == pytest.approx(policy.spike.trigger_p_value * 30.0 / 300.0)
    assert mark < nine.recent_p_value <= policy.spike.trigger_p_value
    below_the_mark = detector.assess(nine)
    assert below_the_mark is None or below_the_mark.signal is not Signal.FIRE
    assert twelve.recent_p_value <= mark
    assert detector.assess(twelve) == (Signal.FIRE, Severity.ERROR, EscalationClass.REPORT_SPIKE)


def unknown_audience_span(recent: float, recent_own: float, share: float) -> CategoryView:
    """A broadcast of unknown audience whose window holds 100 weighted reporters, ``share``
    of them expected in the category, and ``recent`` of the span's ``recent_own`` in it."""
    own = 100.0
    return CategoryView(
        category=Category.HARASSMENT,
        reports=int(recent),
        distinct_reporters=int(recent),
        credible_reporters=0,
        viewers=None,
        window_seconds=300.0,
        weighted_reporters=recent,
        base_rate=share * own / (200 * 300.0),
        recent_weighted=recent,
        recent_seconds=30.0,
        recent_variation=0.15,
        own_weight=own,
        recent_own_weight=recent_own,
    )


def test_the_short_test_of_an_unknown_audience_is_the_categorys_share_of_the_span(
    policy: Policy,
) -> None:
    """No level to jump from: the span's reporters in the category against its population
    share of the span's own reporters, not a tenth of the window's average."""
    odds = ViewOdds(unknown_audience_span(9.0, 12.0, share=0.15), policy)
    assert odds.audience == 200, "the default audience, which the share cancels"
    assert odds.recent_expected == pytest.approx(0.15 * 12.0)
    assert odds.recent_p_value == pytest.approx(wandering_share_upper_tail(9, 12, 0.15, 0.15))
    assert odds.recent_p_value < 1e-4


def test_a_late_reports_span_never_holds_fewer_reporters_than_its_category(
    policy: Policy,
) -> None:
    """A reporter counts in the span where it was last active, so a late report's span can
    hold a reporter of the category who has been active elsewhere since: the span's
    reporters are then taken to be the category's, every one of them in it."""
    odds = ViewOdds(unknown_audience_span(6.0, 5.0, share=0.15), policy)
    assert odds.recent_p_value == pytest.approx(wandering_share_upper_tail(6, 6, 0.15, 0.15))
    assert 0.0 < odds.recent_p_value < 1e-4
