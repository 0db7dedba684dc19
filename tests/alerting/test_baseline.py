"""Learned base rates: start at the prior, calibrate within minutes, never be poisoned."""

from __future__ import annotations

import math
import random

import pytest

from alerting.baseline import BaseRateLearner, RateLimit, learned_rates, prior_rates
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.report import Category
from tests.alerting.helpers import (
    HIGH_TRUST,
    ORDINARY,
    T0,
    burst,
    make_report,
    poisson_arrivals,
    steady_broadcast,
    with_changes,
)
from tests.alerting.platform import Platform, simulate

PRIOR = 3e-7  # harassment


def test_a_fresh_learner_gives_the_prior(policy: Policy) -> None:
    assert BaseRateLearner().rate(Category.HARASSMENT, policy) == PRIOR


def test_the_platform_total_moves_fast_and_the_mix_slowly(policy: Policy) -> None:
    learner = BaseRateLearner()
    priors = {
        category: policy.category(category).base_rate_per_viewer_second for category in Category
    }
    prior_total = sum(priors.values())
    anchor = policy.learning.prior_reports / prior_total
    weight = 3 * policy.learning.prior_reports  # all harassment, over the prior's exposure
    learner.learn(T0, anchor, Category.HARASSMENT, round(1000 * weight), policy)

    total = (policy.learning.prior_reports + weight) / (2 * anchor)
    mix = policy.learning.prior_mix_reports
    assert total == pytest.approx(2 * prior_total), "the total doubled within the prior's worth"
    assert learner.rate(Category.HARASSMENT, policy) == pytest.approx(
        total * (PRIOR / prior_total * mix + weight) / (mix + weight)
    )
    spam = priors[Category.SPAM]
    assert learner.rate(Category.SPAM, policy) == pytest.approx(
        total * (spam / prior_total * mix) / (mix + weight)
    )
    assert learner.rate(Category.SPAM, policy) > spam, "a louder platform raises every category"


def test_the_rate_is_clamped_to_the_band_around_the_prior(policy: Policy) -> None:
    flooded, silent = BaseRateLearner(), BaseRateLearner()
    flooded.learn(T0, 1e12, Category.HARASSMENT, 10**12, policy)
    silent.learn(T0, 1e15, Category.HARASSMENT, 0, policy)
    factor = policy.learning.max_factor
    assert flooded.rate(Category.HARASSMENT, policy) == pytest.approx(PRIOR * factor)
    assert silent.rate(Category.HARASSMENT, policy) == pytest.approx(PRIOR / factor)


def test_the_level_decays_with_its_half_life_and_the_mix_with_its_own(policy: Policy) -> None:
    learning = policy.learning
    assert learning.level_half_life_seconds < learning.half_life_seconds
    learner = BaseRateLearner()
    learner.learn(T0, 1e9, Category.HARASSMENT, 1000, policy)
    learner.learn(T0 + learning.level_half_life_seconds, 0.0, Category.HARASSMENT, 0, policy)
    assert learner.exposure == pytest.approx(0.5e9)
    assert learner.level_weight == pytest.approx(0.5)
    mix_decay = 0.5 ** (learning.level_half_life_seconds / learning.half_life_seconds)
    assert learner.weights[Category.HARASSMENT] == pytest.approx(mix_decay)


def test_the_level_follows_a_rising_platform_within_minutes(policy: Policy) -> None:
    """An evening rise: the platform's rate triples over ten minutes. The estimate at the
    end must be near the rate of the moment, not the run's average."""
    learner = BaseRateLearner()
    priors = prior_rates(policy)
    for second in range(600):
        rise = 2 * (1 + 2 * second / 600)
        learner.learn(T0 + second, 1e8, Category.OTHER, 0, policy)
        for category, prior in priors.items():
            learner.learn(T0 + second, 0.0, category, round(rise * prior * 1e8 * 1000), policy)
    now = 2 * 3 * math.fsum(priors.values())
    assert learner.total_rate(policy) == pytest.approx(now, rel=0.2)


def test_disabled_learning_always_gives_the_prior(policy: Policy) -> None:
    off = with_changes(policy, learning={"enabled": False})
    learner = BaseRateLearner()
    learner.learn(T0, 1e12, Category.HARASSMENT, 10**12, off)
    assert learner.rate(Category.HARASSMENT, off) == PRIOR


def test_learned_rates_say_where_each_rate_stands_against_the_band(policy: Policy) -> None:
    flooded, silent, fresh = BaseRateLearner(), BaseRateLearner(), BaseRateLearner()
    flooded.learn(T0, 1e12, Category.HARASSMENT, 10**12, policy)
    silent.learn(T0, 1e15, Category.HARASSMENT, 0, policy)
    factor = policy.learning.max_factor
    harassment = learned_rates(flooded, policy)[Category.HARASSMENT]
    assert harassment.ratio == pytest.approx(factor)
    assert harassment.limit is RateLimit.CEILING
    assert learned_rates(silent, policy)[Category.HARASSMENT].limit is RateLimit.FLOOR
    assert learned_rates(silent, policy)[Category.HARASSMENT].ratio == pytest.approx(1 / factor)
    for rate in learned_rates(fresh, policy).values():
        assert rate.ratio == pytest.approx(1.0)
        assert rate.limit is RateLimit.FREE


def test_a_rate_just_inside_the_band_is_not_at_its_limit(policy: Policy) -> None:
    """Five times the prior's total within a band of thirty: the learner follows."""
    learner = BaseRateLearner()
    exposure = 1e12
    learner.learn(T0, exposure, Category.HARASSMENT, 0, policy)
    for category, prior in prior_rates(policy).items():
        learner.learn(T0, 0, category, round(5 * prior * exposure * 1000), policy)
    rates = learned_rates(learner, policy)
    assert {rate.limit for rate in rates.values()} == {RateLimit.FREE}
    assert rates[Category.HARASSMENT].ratio == pytest.approx(5, rel=0.01)


def test_with_learning_off_no_rate_is_at_its_limit(policy: Policy) -> None:
    off = with_changes(policy, learning={"enabled": False})
    learner = BaseRateLearner()
    learner.learn(T0, 1e12, Category.HARASSMENT, 10**12, off)
    assert {(rate.ratio, rate.limit) for rate in learned_rates(learner, off).values()} == {
        (1.0, RateLimit.FREE)
    }


def test_round_trip_is_exact(policy: Policy) -> None:
    learner = BaseRateLearner()
    learner.learn(T0, 123456.789, Category.HARASSMENT, 1700, policy, 1900)
    learner.learn(T0 + 7.3, 98765.4321, Category.SPAM, 900, policy, 1000)
    assert BaseRateLearner.from_plain(learner.to_plain()) == learner


# --- how far the reporters' weights spread -----------------------------------------------


def learned_dispersion(policy: Policy, raw_weights: list[int]) -> float:
    learner = BaseRateLearner()
    for raw in raw_weights:
        learner.learn(T0, 1000.0, Category.HARASSMENT, raw, policy, raw)
    return learner.estimate_dispersion(policy)


def test_the_dispersion_starts_at_its_prior(policy: Policy) -> None:
    assert BaseRateLearner().dispersion(policy) == policy.learning.weight_dispersion == 1.0
    pinned = with_changes(policy, learning={"weight_dispersion": 1.4})
    assert BaseRateLearner().dispersion(pinned) == 1.4


def test_the_dispersion_is_the_reporters_squared_weight_over_their_weight(
    policy: Policy,
) -> None:
    """All weighing 1.5, a sum of weights varies 1.5 times as much as the count; one in
    two weighing 2, the rest 1, it is (1 + 4) / (1 + 2)."""
    assert learned_dispersion(policy, [1500] * 2000) == pytest.approx(1.5, rel=0.01)
    assert learned_dispersion(policy, [1000, 2000] * 1000) == pytest.approx(5 / 3, rel=0.01)
    assert learned_dispersion(policy, [1000] * 2000) == 1.0


def test_suspect_reporters_do_not_move_the_dispersion(policy: Policy) -> None:
    assert learned_dispersion(policy, [1500] * 500 + [0] * 5000) == pytest.approx(
        learned_dispersion(policy, [1500] * 500)
    )


def test_the_dispersion_stays_between_one_and_the_largest_weight(policy: Policy) -> None:
    trust = policy.trust
    largest = max(1.0 + trust.high_trust_bonus, trust.trusted_flagger_weight)
    assert learned_dispersion(policy, [4000] * 2000) == largest
    unlikely = with_changes(policy, learning={"weight_dispersion": 1.0})
    assert learned_dispersion(unlikely, [500] * 2000) == 1.0


def test_with_learning_off_the_dispersion_is_the_policys(policy: Policy) -> None:
    off = with_changes(policy, learning={"enabled": False, "weight_dispersion": 1.3})
    assert learned_dispersion(off, [2000] * 2000) == 1.3


def test_a_learner_stored_before_the_dispersion_starts_it_from_its_prior(policy: Policy) -> None:
    learner = BaseRateLearner()
    learner.learn(T0, 1000.0, Category.HARASSMENT, 1500, policy, 1500)
    stored = learner.to_plain()
    del stored["d"]
    restored = BaseRateLearner.from_plain(stored)
    assert restored.reporter_weight == restored.reporter_square == 0.0
    assert restored.dispersion(policy) == 1.0


def test_the_engine_teaches_exposure_from_gaps_between_a_broadcasts_reports(
    engine: DetectionEngine, policy: Policy
) -> None:
    learner = BaseRateLearner()
    state = BroadcastState("b-1")
    engine.observe(state, make_report("a", viewers=1000, reporter=ORDINARY), learner=learner)
    engine.observe(
        state, make_report("b", at=T0 + 10, viewers=1000, reporter=ORDINARY), learner=learner
    )
    engine.observe(state, make_report("c", at=T0 + 10_000, viewers=1000), learner=learner)
    gap_cap = policy.learning.max_gap_seconds
    assert learner.exposure == pytest.approx(
        (1000 * 10) * 0.5 ** ((10_000 - 10) / policy.learning.level_half_life_seconds)
        + 1000 * gap_cap
    )


def test_a_first_report_from_a_clock_minutes_behind_teaches_no_minutes_of_viewers(
    engine: DetectionEngine,
) -> None:
    """The gap between a broadcast's reports is measured on their Kafka records: the first
    report's device clock is 280 s behind, and in event time the gap to the next one would
    be 281 s of 300,000 viewers, worth hundreds of reports the platform never had."""
    learner = BaseRateLearner()
    state = BroadcastState("b-1")
    first = make_report("a", at=T0 - 280, viewers=300_000, reporter=ORDINARY)
    engine.observe(state, first, learner=learner, record_time=T0)
    second = make_report("b", at=T0 + 1, viewers=300_000, reporter=ORDINARY)
    engine.observe(state, second, learner=learner, record_time=T0 + 1)

    assert learner.exposure == pytest.approx(300_000 * 1.0)
    assert state.record_clock == T0 + 1


def test_a_report_delivered_late_adds_no_exposure_twice(
    engine: DetectionEngine, policy: Policy
) -> None:
    """A late report moves the record clock on early; a report that reached Kafka before
    it then adds nothing, so the gaps add up to the 50 s that passed (40 s taught with the
    late report, made at 5 s, and decayed until the last one, made at 50 s)."""
    learner = BaseRateLearner()
    state = BroadcastState("b-1")
    for reporter, made, reached in [("a", 0, 0), ("b", 5, 40), ("c", 10, 12), ("d", 50, 50)]:
        report = make_report(reporter, at=T0 + made, viewers=100_000, reporter=ORDINARY)
        engine.observe(state, report, learner=learner, record_time=T0 + reached)

    half_life = policy.learning.level_half_life_seconds
    taught = 100_000 * 40.0 * 0.5 ** (45 / half_life) + 100_000 * 10.0
    assert learner.exposure == pytest.approx(taught)


def test_a_broadcast_with_an_open_incident_teaches_nothing_and_is_held_at_its_last_rate(
    engine: DetectionEngine,
) -> None:
    learner = BaseRateLearner()
    state = BroadcastState("b-1")
    for n in range(3):
        report = make_report(f"quiet-{n}", at=T0 + 60 * n, viewers=1_000, reporter=ORDINARY)
        engine.observe(state, report, learner=learner)
    taught_rate = state.taught_rate
    assert taught_rate is not None, "an ordinary report taught the learner"
    weights, exposure = dict(learner.weights), learner.exposure
    for report in burst(50, start=T0 + 200, viewers=1_000, prefix="more", reporter=HIGH_TRUST):
        engine.observe(state, report, learner=learner)
    assert state.incidents
    assert all(learner.weights[c] <= w for c, w in weights.items()), "its mix teaches nothing"
    assert learner.exposure > exposure / 2, "its viewers still count"
    assert state.taught_rate == taught_rate, "held at the rate it last taught, not its level now"


def test_a_held_broadcast_adds_its_viewer_seconds_at_the_rate_it_is_held_at(
    policy: Policy,
) -> None:
    learner = BaseRateLearner()
    learner.hold(T0, 1_000.0, 4e-6, policy)
    assert (learner.exposure, learner.level_weight, learner.weights) == (1_000.0, 4e-3, {})


def test_the_loudest_broadcast_in_an_incident_does_not_make_the_platform_quieter(
    policy: Policy,
) -> None:
    """One broadcast of 300k viewers at three times the priors makes most of what the
    learner hears; ten of 5k viewers at the priors the rest. Harassment on the big one
    jumps tenfold for three minutes, and its incident stays open for minutes after. Left
    out of the learner meanwhile, it took the platform's total down to the small ones'
    within the level's half-life, and every broadcast's level with it."""
    seconds, jump = 1200.0, 600.0
    reports = steady_broadcast(policy, viewers=300_000, scale=3.0, seconds=seconds)
    for index in range(10):
        reports += steady_broadcast(
            policy, viewers=5_000, scale=1.0, seconds=seconds, seed=index, broadcast_id=f"s{index}"
        )
    surge_rate = 27 * PRIOR * 300_000
    generator = random.Random(3)
    reports += [
        make_report(f"jump-{n}", at=T0 + at, viewers=300_000, reporter=ORDINARY, broadcast_id="big")
        for n, at in enumerate(poisson_arrivals(surge_rate, jump, jump + 180.0, generator))
    ]
    engine, learner = DetectionEngine(policy), BaseRateLearner()
    states: dict[str, BroadcastState] = {}
    totals: dict[float, float] = {}
    for report in sorted(reports, key=lambda r: r.event_time):
        state = states.setdefault(report.broadcast_id, BroadcastState(report.broadcast_id))
        engine.observe(state, report, learner=learner)
        for mark in (jump - 10.0, jump + 300.0):
            if mark not in totals and report.event_time >= T0 + mark:
                totals[mark] = learner.total_rate(policy)
    assert states["big"].incidents, "the incident is still open at the end of the surge's window"
    before, during = totals[jump - 10.0], totals[jump + 300.0]
    assert before > 2.0 * sum(prior_rates(policy).values()), "the big broadcast makes most of it"
    assert during == pytest.approx(before, rel=0.2)


def test_evidence_shows_the_expectation_the_decision_used(
    engine: DetectionEngine, policy: Policy
) -> None:
    learner = BaseRateLearner()
    learner.learn(T0 - 1, 1e12, Category.HARASSMENT, 0, policy)  # learned: the band's floor
    state = BroadcastState("b-1")
    sent = [
        e
        for report in burst(6, reporter=HIGH_TRUST)
        for e in engine.observe(state, report, learner=learner).escalations
    ]
    spike = next(r for r in sent[0].evidence.rules if r.rule == "audience_spike")
    floor = PRIOR / policy.learning.max_factor
    assert spike.figures["expected_reports"] == pytest.approx(floor * 100 * 300)
    harassment = next(c for c in sent[0].evidence.categories if c.category is Category.HARASSMENT)
    assert harassment.expected_reports == spike.figures["expected_reports"]


# --- a whole platform from a cold start ------------------------------------------------


@pytest.mark.parametrize("scale", [0.1, 3.0, 10.0])
def test_a_platform_far_from_the_priors_pages_no_ordinary_broadcast_from_a_cold_start(
    policy: Policy, scale: float
) -> None:
    """Ordinary broadcasts (100-20,000 viewers) and two of 200k-300k, reporting at
    ``scale`` times the priors from the first second; one learner, as one partition."""
    run = simulate(policy, Platform(scale=scale, minutes=6))

    assert run.pages == [], "no paging trigger on an ordinary broadcast"
    learned = run.learner.rate(Category.HARASSMENT, policy) / PRIOR
    assert scale / 2 <= learned <= scale * 2, f"learned {learned:.2f} x the prior"


@pytest.mark.parametrize("trust", [0.65, 0.79])
def test_a_platform_that_trusts_its_ordinary_reporters_pages_no_ordinary_broadcast(
    policy: Policy, trust: float
) -> None:
    """Every ordinary account scored above the policy's neutral trust (each weighs 1.3 or
    1.58), and four viewers of a small broadcast reporting it again and again within half
    a minute: counted as weights, four viewers of 1.58 passed the five-reporter floor and
    paged. Counted in the platform's own ordinary reporters, they are four."""
    run = simulate(policy, Platform(scale=3.0, minutes=6, trust=trust, storm=(4, 5)))

    assert run.pages == []
    weight = 1.0 + (trust - policy.trust.neutral_trust) / (1.0 - policy.trust.neutral_trust)
    assert run.learner.dispersion(policy) == pytest.approx(weight, rel=0.01)


def test_on_a_platform_that_trusts_its_reporters_six_viewers_still_page(policy: Policy) -> None:
    run = simulate(policy, Platform(scale=3.0, minutes=6, trust=0.79, storm=(6, 2)))

    assert {page.labels.broadcast_id for page in run.pages} == {"storm-0"}


def test_a_campaign_as_long_as_the_learning_horizon_cannot_teach_abuse_is_normal(
    policy: Policy,
) -> None:
    """Ordinary-looking accounts report harassment on one broadcast all run long: the
    learned rate stays that of the platform's ordinary broadcasts."""
    horizon = policy.learning.half_life_seconds / 60
    honest = simulate(policy, Platform(scale=1.0, minutes=horizon, broadcasts=40))
    poisoned = simulate(
        policy, Platform(scale=1.0, minutes=horizon, broadcasts=40, campaign_per_minute=30)
    )

    learned = poisoned.learner.rate(Category.HARASSMENT, policy)
    assert learned <= 1.25 * honest.learner.rate(Category.HARASSMENT, policy)
    assert poisoned.pages, "the campaign itself is seen"
