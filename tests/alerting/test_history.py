"""A broadcast judged against its own history: large audiences carry their own normal."""

from __future__ import annotations

import math
import random

import pytest

from alerting.baseline import BaseRateLearner
from alerting.engine import DetectionEngine
from alerting.history import BroadcastHistory
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import (
    ORDINARY,
    T0,
    make_report,
    ordinary_reports,
    poisson_arrivals,
    resolve_wait,
    steady_broadcast,
    with_changes,
)

BUCKET = 10.0
LARGE = 300_000


def test_evidence_enters_only_once_its_bucket_is_older_than_the_lag(policy: Policy) -> None:
    history = BroadcastHistory()
    lag_buckets = int(policy.history.lag_seconds / BUCKET)
    history.add(100, 5000, 1e6, BUCKET, policy.history)
    history.add(100 + lag_buckets, 1000, 1e6, BUCKET, policy.history)
    assert history.weight == 0.0, "still within the lag: the current jump is not its own history"

    history.add(101 + lag_buckets, 0, 1e6, BUCKET, policy.history)

    assert history.weight == pytest.approx(5.0)
    assert history.expected == pytest.approx(1e6)


def test_the_factor_shrinks_the_own_rate_towards_the_population_and_never_below_it(
    policy: Policy,
) -> None:
    loud, quiet = BroadcastHistory(weight=90.0, expected=30.0), BroadcastHistory(1.0, 30.0)
    prior = policy.history.prior_reports

    assert loud.factor(policy.history) == pytest.approx((prior + 90) / (prior + 30))
    assert quiet.factor(policy.history) == 1.0
    assert BroadcastHistory().factor(policy.history) == 1.0


def test_folded_evidence_decays_with_the_half_life(policy: Policy) -> None:
    history = BroadcastHistory()
    lag_buckets = int(policy.history.lag_seconds / BUCKET)
    half_life_buckets = int(policy.history.half_life_seconds / BUCKET)
    history.add(0, 4000, 1e6, BUCKET, policy.history)
    history.add(half_life_buckets, 0, 1.0, BUCKET, policy.history)
    history.add(half_life_buckets + lag_buckets + 1, 0, 0.0, BUCKET, policy.history)
    assert history.weight == pytest.approx(2.0)
    assert history.expected == pytest.approx(0.5e6 + 1.0)


def test_round_trip_is_exact(policy: Policy) -> None:
    history = BroadcastHistory()
    for bucket in range(12):
        history.add(bucket, 1000 * bucket, 3e5 * bucket, BUCKET, policy.history)
    assert BroadcastHistory.from_plain(history.to_plain()) == history


def test_the_level_is_known_better_the_more_reports_the_history_holds(policy: Policy) -> None:
    """Nothing held: the level wanders by the unsettled figure. Each report held at the
    population's rate narrows it, as a gamma prior's shape grows by one a report, down to
    an ordinary broadcast's wandering, which is what it is once the history is settled."""
    settled = policy.spike.rate_variation
    unsettled = policy.history.unsettled_rate_variation
    shape = 1.0 / unsettled**2
    spreads = [
        BroadcastHistory(weight=held, expected=held).level_variation(policy.history, settled)
        for held in (0.0, 3.0, 10.0, 30.0, 45.0)
    ]

    assert spreads[0] == unsettled
    assert spreads[2] == pytest.approx(1.0 / math.sqrt(shape + 10.0))
    assert spreads == sorted(spreads, reverse=True)
    assert len(set(spreads)) == len(spreads)
    assert min(spreads) >= settled
    settled_history = BroadcastHistory(weight=5.0, expected=policy.history.burst_after_reports)
    assert settled_history.level_variation(policy.history, settled) == settled


def test_a_history_louder_than_its_shrunk_level_knows_no_better_than_an_empty_one(
    policy: Policy,
) -> None:
    """Twenty reports where the population expects four: the level the expectation uses,
    shrunk towards the population, is half of what the history says, and the short test
    must allow for that, not only for the counting error of twenty reports (a broadcast
    loud from its first report was paged more often when it did)."""
    settled = policy.spike.rate_variation
    loud = BroadcastHistory(weight=20.0, expected=4.0)
    even = BroadcastHistory(weight=20.0, expected=20.0)

    assert loud.level_variation(policy.history, settled) == policy.history.unsettled_rate_variation
    assert even.level_variation(policy.history, settled) < 0.25


def test_no_unsettled_allowance_beyond_an_ordinary_broadcasts(policy: Policy) -> None:
    strict = with_changes(policy, history={"unsettled_rate_variation": 0.0})
    settled = policy.spike.rate_variation
    assert BroadcastHistory().level_variation(strict.history, settled) == settled


# --- the engine on large audiences -------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 3.0, 5.0])
def test_a_large_audiences_steady_level_above_the_population_pages_nobody(
    engine: DetectionEngine, policy: Policy, scale: float
) -> None:
    """300k viewers reporting every category at ``scale`` x the population's rate for twenty
    minutes: normal for this broadcast, so neither the spike nor the ramp detector pages."""
    state = BroadcastState("big")
    sent = [
        escalation
        for report in steady_broadcast(policy, viewers=LARGE, scale=scale, seconds=1200)
        for escalation in engine.observe(state, report).escalations
    ]
    assert [e for e in sent if e.severity.pages] == []
    assert state.history.factor(policy.history) == pytest.approx(scale, rel=0.3)


def test_a_large_audience_keeps_its_factor_while_the_whole_platform_gets_louder(
    engine: DetectionEngine, policy: Policy
) -> None:
    """The history is relative to the population's rate of each moment: when the platform
    triples (an evening rise), a broadcast at 3 x the population stays at 3 x, and its
    expectation rises with the population's instead of lagging behind its own past."""
    learner = BaseRateLearner()
    state, neighbour = BroadcastState("big"), BroadcastState("neighbour")
    reports = [
        (state, report)
        for report in steady_broadcast(policy, viewers=LARGE, scale=3.0, seconds=1200, rise=3.0)
    ] + [
        (neighbour, report)
        for report in steady_broadcast(
            policy, viewers=LARGE, scale=1.0, seconds=1200, rise=3.0, broadcast_id="neighbour"
        )
    ]
    sent, factors = [], {}
    for owner, report in sorted(reports, key=lambda pair: pair[1].event_time):
        sent += engine.observe(owner, report, learner=learner).escalations
        factors[round(report.event_time - T0) // 300] = state.history.factor(policy.history)
    assert [e for e in sent if e.severity.pages] == []
    assert factors[3] > 1.2, "louder than its neighbour"
    assert factors[3] == pytest.approx(factors[1], rel=0.2), "and still as much louder"


def harassment_jump(rate: float, begin: float, end: float) -> list[ReportEvent]:
    """Ordinary viewers of the large broadcast reporting harassment at ``rate`` a second."""
    return [
        make_report(
            f"jump-{number}",
            at=T0 + at,
            viewers=LARGE,
            reporter=ORDINARY,
            broadcast_id="big",
            report_id=f"jump-{number}",
        )
        for number, at in enumerate(poisson_arrivals(rate, begin, end, random.Random(5)))
    ]


def test_a_tenfold_jump_of_one_category_on_a_large_audience_pages_within_seconds(
    engine: DetectionEngine, policy: Policy
) -> None:
    """Ten minutes at 3 x the population, then harassment jumps tenfold."""
    jump = 600.0
    reports = steady_broadcast(policy, viewers=LARGE, scale=3.0, seconds=900)
    rate = 9 * 3.0 * policy.category(Category.HARASSMENT).base_rate_per_viewer_second * LARGE
    extra = harassment_jump(rate, jump, 900.0)
    state = BroadcastState("big")
    sent = [
        escalation
        for report in sorted(reports + extra, key=lambda r: r.event_time)
        for escalation in engine.observe(state, report).escalations
    ]
    triggers = [e for e in sent if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1
    (trigger,) = triggers
    assert trigger.severity.pages
    assert trigger.labels.category is Category.HARASSMENT
    assert T0 + jump <= trigger.detected_at.timestamp() <= T0 + jump + 30


def test_a_category_enters_the_mix_only_once_its_bucket_is_older_than_the_lag_and_decays(
    policy: Policy,
) -> None:
    history = BroadcastHistory()
    lag_buckets = int(policy.history.lag_seconds / BUCKET)
    half_life_buckets = int(policy.history.half_life_seconds / BUCKET)
    history.add(0, 4000, 1e6, BUCKET, policy.history, Category.HARASSMENT, 4000)
    assert history.mix == {}, "still within the lag"
    history.add(half_life_buckets, 0, 1.0, BUCKET, policy.history)
    history.add(half_life_buckets + lag_buckets + 1, 0, 0.0, BUCKET, policy.history)
    assert history.mix == {Category.HARASSMENT: pytest.approx(2.0)}


def test_a_category_over_reported_beyond_the_level_carries_its_tilt(policy: Policy) -> None:
    """Harassment at four times its share, the rest at theirs: the level absorbs part of
    the excess, the tilt the rest, shrunk towards none by the prior."""
    rates = {Category.HARASSMENT: 0.25, Category.SPAM: 0.75}
    expected = 1000.0
    weights = {Category.HARASSMENT: 4 * 0.25 * expected, Category.SPAM: 0.75 * expected}
    history = BroadcastHistory(weight=sum(weights.values()), expected=expected, mix=weights)
    prior, mix_prior = policy.history.prior_reports, policy.history.mix_prior_reports
    level = history.factor(policy.history)
    assert level == pytest.approx((prior + 1750) / (prior + 1000))

    tilts = history.tilt(rates, 1.0, level, policy.history)

    assert set(tilts) == {Category.HARASSMENT}, "spam, below the level, gets none"
    assert tilts[Category.HARASSMENT] == pytest.approx(
        (mix_prior + 1000) / (mix_prior + level * 250)
    )
    assert level * tilts[Category.HARASSMENT] == pytest.approx(4.0, rel=0.05)


def test_a_history_stored_without_its_mix_reads_as_one_with_none_yet(policy: Policy) -> None:
    history = BroadcastHistory(weight=3.0, expected=2.0, folded_bucket=7, pending={9: (1000, 0.5)})
    history.add(9, 0, 0.0, BUCKET, policy.history, Category.SPAM, 1000)
    plain = history.to_plain()
    assert BroadcastHistory.from_plain(plain) == history
    assert BroadcastHistory.from_plain(plain[:4]) == BroadcastHistory(3.0, 2.0, 7, {9: (1000, 0.5)})


def test_a_large_audience_over_reporting_one_category_steadily_pages_nobody(
    engine: DetectionEngine, policy: Policy
) -> None:
    """300k viewers, harassment at four times its share and everything else at the
    population's rates, for ten minutes: a mix of its own, not a climb."""
    generator = random.Random(3)
    rates = {c: policy.category(c).base_rate_per_viewer_second for c in Category}
    rates[Category.HARASSMENT] *= 4
    reports = ordinary_reports(
        [
            (at, "big", category, LARGE)
            for category in Category
            for at in poisson_arrivals(rates[category] * LARGE, 0.0, 600.0, generator)
        ]
    )
    state = BroadcastState("big")
    sent = [e for report in reports for e in engine.observe(state, report).escalations]
    assert [e for e in sent if e.severity.pages] == []
    assert state.history.mix[Category.HARASSMENT] > 0


def test_a_broadcast_getting_louder_after_a_surge_pages_once(
    engine: DetectionEngine, policy: Policy
) -> None:
    """300k viewers at three times the priors, every category rising to twice that over an
    hour, and harassment jumping tenfold for three minutes twenty minutes in. While the
    incident is open, harassment teaches the history nothing, but the other categories go
    on teaching its level: frozen at the incident's start, the level fell behind the
    broadcast's growth, every category in turn looked abusive against it and joined the
    incident, and a rare one paged a second team. And it resolves once the surge has left
    the window and a quiet period has passed: judged against the lagging level alone, the
    window stayed above the low mark somewhere every few minutes and it never did, nor
    while the ramp's CUSUM still remembered the surge."""
    jump, seconds = 1200.0, 3600.0
    reports = steady_broadcast(policy, viewers=LARGE, scale=3.0, seconds=seconds, rise=2.0)
    grown = 1.0 + jump / seconds
    rate = 9 * 3.0 * grown * policy.category(Category.HARASSMENT).base_rate_per_viewer_second
    extra = harassment_jump(rate * LARGE, jump, jump + 180.0)
    state, sent, ticked, restarted = BroadcastState("big"), [], T0, []
    for report in sorted(reports + extra, key=lambda r: r.event_time):
        sent += engine.observe(state, report).escalations
        if report.event_time >= ticked + BUCKET:
            ticked = report.event_time
            resolved = engine.tick(state, ticked).escalations
            if resolved:
                restarted = [ramp.statistic for ramp in state.ramps.values()]
            sent += resolved
    assert [(e.event_action, e.labels.category, e.severity.pages) for e in sent] == [
        (EventAction.TRIGGER, Category.HARASSMENT, True),
        (EventAction.RESOLVE, Category.HARASSMENT, True),
    ]
    assert jump <= sent[0].detected_at.timestamp() - T0 <= jump + 30
    surge_left_window = jump + 180.0 + policy.window.length_seconds
    resolved_at = sent[1].detected_at.timestamp() - T0
    assert resolved_at <= surge_left_window + resolve_wait(policy) + 2 * BUCKET
    assert restarted, "the broadcast has ramps"
    assert not any(restarted), "the CUSUMs start again with the incident's end"


def test_a_surge_spread_over_categories_minutes_into_a_mid_size_broadcast_pages(
    engine: DetectionEngine, policy: Policy
) -> None:
    """30k viewers at three times the population for 200 s, then sixteen viewers filing
    four categories in turn, one every 2 s. The history holds a few dozen reports by
    then, not yet settled: judged as if it held none, the half-minute's jump was within an
    unknown level's wandering and nobody was paged."""
    viewers, onset = 30_000, 200.0
    before = steady_broadcast(policy, viewers=viewers, scale=3.0, seconds=onset + 120.0)
    categories = ("harassment", "hateful_conduct", "violent_threat", "other")
    surge = [
        make_report(
            f"surge-{number}",
            at=T0 + onset + 2.0 * number,
            category=categories[number % len(categories)],
            viewers=viewers,
            reporter=ORDINARY,
            broadcast_id="big",
            report_id=f"surge-{number}",
        )
        for number in range(16)
    ]
    state = BroadcastState("big")
    sent: list[EscalationV2] = []
    for report in sorted(before + surge, key=lambda r: r.event_time):
        if report.report_id == "surge-0":
            assert state.history.weight > 0
            assert state.history.expected < policy.history.burst_after_reports
            assert sent == []
        sent += engine.observe(state, report).escalations
    triggers = [e for e in sent if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1
    assert triggers[0].severity.pages
    assert triggers[0].detected_at.timestamp() - T0 <= onset + 30.0


def test_a_ramp_reference_is_seeded_with_the_categorys_weight_over_the_levels_exposure() -> None:
    """The history's expected weight is the population's over every category; divided by
    their summed rate it is viewer-seconds, and at the broadcast's level the exposure a
    ramp's reference keeps."""
    history = BroadcastHistory(weight=12.0, expected=8.0, mix={Category.HARASSMENT: 5.0})
    assert history.reference_seed(Category.HARASSMENT, 1.5, 2.0) == (5.0, 6.0)
    assert history.reference_seed(Category.SELF_HARM, 1.5, 2.0) == (0.0, 6.0)
    assert history.reference_seed(Category.HARASSMENT, 1.5, 0.0) == (0.0, 0.0)
