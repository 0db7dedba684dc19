"""Slow ramps: the CUSUM catches a climb that no single window shows as a burst."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from alerting.detectors import AudienceSpikeDetector, CredibleReportDetector
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.ramp import (
    REFERENCE_BLOCKS,
    OwnReference,
    RampState,
    broadcast_threshold,
    loudness_elsewhere,
    ramp_beside,
)
from alerting.state import BroadcastState
from models.escalation import EscalationClass, EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import (
    HARASSMENT_RATE,
    ORDINARY,
    T0,
    make_report,
    steady_broadcast,
)

VIEWERS = 200_000


BUCKET_SECONDS = 10.0


def test_cusum_adds_the_log_likelihood_ratio_of_each_closed_bucket(policy: Policy) -> None:
    ramp = RampState()
    ramp.advance(100, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)
    ramp.add(3000)
    ramp.advance(101, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)
    m = policy.ramp.rate_multiplier
    assert ramp.statistic == pytest.approx(3 * math.log(m) - (m - 1) * 0.5)
    ramp.advance(104, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)  # one bucket, two empty
    assert ramp.statistic == pytest.approx(max(0.0, 3 * math.log(m) - 4 * (m - 1) * 0.5))


def test_cusum_never_goes_below_zero_and_ignores_late_buckets(policy: Policy) -> None:
    ramp = RampState()
    ramp.advance(10, 1.0, 5.0, BUCKET_SECONDS, policy.ramp)
    ramp.advance(20, 1.0, 5.0, BUCKET_SECONDS, policy.ramp)
    assert ramp.statistic == 0.0
    ramp.add(1000)
    ramp.advance(15, 1.0, 5.0, BUCKET_SECONDS, policy.ramp)
    assert (ramp.bucket, ramp.pending_milli) == (20, 1000)


def test_the_cusum_judges_a_category_against_its_own_reference(policy: Policy) -> None:
    """The same closed bucket adds less to a category the broadcast has over-reported."""
    fresh, tilted = RampState(), RampState()
    tilted.reference = OwnReference(weight=40.0, exposure=10.0, first_bucket=0, folded_bucket=0)
    for ramp in (fresh, tilted):
        ramp.advance(100, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)
        ramp.add(4000)
        ramp.advance(101, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)
    m = policy.ramp.rate_multiplier
    tilt = tilted.reference.tilt(1.0, policy.ramp)
    assert 1.0 < tilt < 40.0 / 10.0, "the estimate, less its doubt"
    assert tilted.statistic == pytest.approx(max(0.0, 4 * math.log(m) - (m - 1) * 0.5 * tilt))
    assert tilted.statistic < fresh.statistic


def test_a_reference_of_a_few_reports_is_doubted_down_to_the_level(policy: Policy) -> None:
    few = OwnReference(weight=3.0, exposure=1.0)
    many = OwnReference(weight=300.0, exposure=100.0)
    quiet = OwnReference(weight=1.0, exposure=10.0)
    assert few.tilt(1.0, policy.ramp) < many.tilt(1.0, policy.ramp) < 3.0
    assert many.tilt(1.0, policy.ramp) > 2.5
    assert quiet.tilt(1.0, policy.ramp) == 1.0, "an under-reported category is at its share"


def test_the_population_rate_is_applied_when_the_tilt_is_read(policy: Policy) -> None:
    """A category that ran at the platform's true rate while a cold-started learner was
    still at half of it is not over-reported once the learner has caught up."""
    reference = OwnReference(weight=400.0, exposure=200.0)
    while_learning = reference.tilt(1.0, policy.ramp)
    caught_up = reference.tilt(2.0, policy.ramp)
    assert while_learning > 1.8
    assert caught_up == 1.0


def test_the_reference_takes_the_opening_at_once_and_later_buckets_after_the_lag(
    policy: Policy,
) -> None:
    ramp_policy = policy.ramp
    opening = round(ramp_policy.reference_opening_seconds / BUCKET_SECONDS)
    lag = round(ramp_policy.reference_lag_seconds / BUCKET_SECONDS)
    reference = OwnReference()
    for bucket in range(opening):
        reference.add(bucket, 1.0, 1.0, BUCKET_SECONDS, ramp_policy)
    assert 0.8 * opening < reference.weight < opening, "all of it, decayed a little"
    assert not reference.pending
    taken = reference.weight
    for bucket in range(opening, opening + lag):
        reference.add(bucket, 5.0, 1.0, BUCKET_SECONDS, ramp_policy)
    assert reference.weight <= taken, "nothing newer than the lag yet"
    for bucket in range(opening + lag, opening + 2 * lag):
        reference.add(bucket, 5.0, 1.0, BUCKET_SECONDS, ramp_policy)
    assert reference.weight > taken * 3
    assert len(reference.pending) <= REFERENCE_BLOCKS + 2


def test_a_category_first_reported_later_starts_from_the_broadcasts_history() -> None:
    """The opening is the broadcast's: a category's ramp started beside others begins its
    reference where the earliest of theirs began, and the first on a broadcast where it
    begins; what the broadcast's history holds of the category comes with it."""
    early, later = RampState(), RampState()
    early.reference.first_bucket, later.reference.first_bucket = 40, 70
    seeded = ramp_beside([later, early], 1.5, 30.0, 95).reference
    assert (seeded.first_bucket, seeded.weight, seeded.exposure) == (40, 1.5, 30.0)
    assert seeded.folded_bucket == 95, "its decay runs from the history's clock"
    fresh = ramp_beside([], 0.0, 0.0, None).reference
    assert fresh == OwnReference()


def test_a_climb_in_a_category_the_broadcast_never_drew_is_not_its_own_reference(
    engine: DetectionEngine,
) -> None:
    """Harassment reported steadily from the broadcast's first minute, then self-harm,
    never reported before, climbing from seven minutes in. Had the category's own first
    report opened its reference, the climb's first five minutes would be taken in at once
    as its ordinary rate; it is the broadcast's opening that has passed, so they wait out
    the lag, and the climb is judged against the level it would otherwise have."""
    steady = reports_at(lambda _: 1.0, 13)
    climb = [
        make_report(
            f"harm-{n}",
            at=T0 + 420 + 15 * n,
            category="self_harm",
            viewers=VIEWERS,
            reporter=ORDINARY,
        )
        for n in range(20)
    ]
    state = BroadcastState("b-ramp")
    for report in sorted(steady + climb, key=lambda r: r.event_time):
        engine.observe(state, report)
    harm = state.ramps[Category.SELF_HARM].reference
    assert harm.weight == 0.0
    assert harm.exposure > 0.0, "the minutes the category was silent, from the history"
    assert state.ramps[Category.HARASSMENT].reference.weight > 0.0


def test_a_category_reported_again_after_its_window_emptied_keeps_its_history(
    engine: DetectionEngine,
) -> None:
    """Self-harm reported in the broadcast's first minutes, then not for longer than the
    window, drops its ramp with its window; reported again, its new reference holds the
    earlier reports the broadcast's history kept rather than none."""
    steady = reports_at(lambda _: 1.0, 30)
    early = [
        make_report(f"harm-{n}", at=T0 + 30 * n, category="self_harm", viewers=VIEWERS)
        for n in range(1, 6)
    ]
    again = make_report("harm-again", at=T0 + 1801, category="self_harm", viewers=VIEWERS)
    state = BroadcastState("b-ramp")
    dropped = False
    for report in sorted([*steady, *early], key=lambda r: r.event_time):
        engine.observe(state, report)
        engine.tick(state, report.event_time)
        dropped = dropped or Category.SELF_HARM not in state.ramps
    assert dropped
    engine.observe(state, again)
    assert state.ramps[Category.SELF_HARM].reference.weight > 1.0


def test_an_open_incident_teaches_the_reference_nothing(policy: Policy) -> None:
    ramp = RampState()
    for bucket in range(100, 110):
        ramp.add(5000)
        ramp.advance(bucket, 1.0, 0.5, BUCKET_SECONDS, policy.ramp, learn=False)
    assert ramp.reference == OwnReference()


def test_the_reference_takes_in_the_levels_exposure_without_the_loudness_elsewhere(
    policy: Policy,
) -> None:
    """The loudness raises the baseline the closed buckets are judged against, not the
    exposure the reference learns the category's own rate over: it is at least 1 and
    raised by the other categories' every noisy minute, so taken in, it held every
    reference below the category's rate."""
    loud, quiet = RampState(loudness=2.0), RampState()
    for ramp in (loud, quiet):
        ramp.advance(100, 1.0, 0.5, BUCKET_SECONDS, policy.ramp)
        ramp.add(3000)
        ramp.advance(101, 1.0, 0.5, BUCKET_SECONDS, policy.ramp)
    m = policy.ramp.rate_multiplier
    assert loud.statistic == pytest.approx(3 * math.log(m) - (m - 1) * 1.0)
    assert loud.reference == quiet.reference
    assert (loud.reference.weight, loud.reference.exposure) == (3.0, 0.5)


def test_the_reference_survives_the_state_round_trip_and_old_states_read_without_one(
    policy: Policy,
) -> None:
    ramp = RampState()
    for bucket in range(100, 200):
        ramp.add(1000)
        ramp.advance(bucket, 1.0, 0.5, BUCKET_SECONDS, policy.ramp)
    ramp.loudness = 1.25
    assert ramp.reference.pending
    assert RampState.from_plain(ramp.to_plain()) == ramp
    old = RampState.from_plain([1.5, 7, 2000])
    assert (old.statistic, old.bucket, old.pending_milli, old.reference, old.loudness) == (
        1.5,
        7,
        2000,
        OwnReference(),
        1.0,
    )
    without_loudness = RampState.from_plain(ramp.to_plain()[:4])
    assert (without_loudness.reference, without_loudness.loudness) == (ramp.reference, 1.0)


def reports_at(multiple: Callable[[float], float], minutes: int) -> list[ReportEvent]:
    """Harassment reports at ``multiple(seconds)`` x its base rate, each where the expected
    count passes a whole number (deterministic, so the tests do not ride on one draw)."""
    base = HARASSMENT_RATE * VIEWERS
    reports: list[ReportEvent] = []
    expected, at, step = 0.0, 0.0, 0.5
    while at < minutes * 60:
        expected += base * multiple(at) * step
        at += step
        while expected >= len(reports) + 1:
            index = len(reports)
            reports.append(
                make_report(f"viewer-{index}", at=T0 + at, viewers=VIEWERS, reporter=ORDINARY)
            )
    return reports


def steady_reports(rate_multiplier: float, minutes: int) -> list[ReportEvent]:
    return reports_at(lambda _: rate_multiplier, minutes)


def climbing_reports(minutes: int = 25) -> list[ReportEvent]:
    """The base rate for ten minutes, then climbing to 2.5x over five and held."""
    return reports_at(lambda at: 1.0 + 1.5 * min(1.0, max(0.0, (at - 600.0) / 300.0)), minutes)


def run(engine: DetectionEngine, reports: list[ReportEvent]) -> list[EscalationV2]:
    state = BroadcastState("b-ramp")
    return [e for report in reports for e in engine.observe(state, report).escalations]


def test_a_climb_is_missed_by_the_burst_detector(policy: Policy) -> None:
    bursts_only = DetectionEngine(
        policy, detectors=(CredibleReportDetector(), AudienceSpikeDetector())
    )
    assert run(bursts_only, climbing_reports()) == []


def test_the_same_climb_is_caught_once_as_a_ramp(engine: DetectionEngine) -> None:
    """One page, the ramp's; once the climb is plain in the window too, the spike test's
    first FIRE is an update of the same incident (what a ramp's incident is told when
    the abuse becomes unmistakable), never a second page."""
    sent = run(engine, climbing_reports())
    assert [(e.event_action, e.escalation_class) for e in sent] == [
        (EventAction.TRIGGER, EscalationClass.REPORT_RAMP),
        (EventAction.UPDATE, EscalationClass.REPORT_RAMP),
    ]
    assert sent[1].dedup_key == sent[0].dedup_key
    assert "audience_spike" in {r.rule for r in sent[1].evidence.rules if r.fired}
    fired = {r.rule: r.figures for r in sent[0].evidence.rules if r.fired}
    assert set(fired) == {"report_ramp"}
    mark = float(fired["report_ramp"]["threshold"])
    assert float(fired["report_ramp"]["cusum"]) >= mark
    assert mark < engine.policy.ramp.threshold, "one category reported: one CUSUM's mark"
    assert float(fired["report_ramp"]["own_rate_multiple"]) >= 1.0
    assert 600 < sent[0].detected_at.timestamp() - T0 < 20 * 60


@pytest.mark.parametrize("rate_multiplier", [1.0, 2.0, 4.0])
def test_a_steady_rate_never_ramps_whatever_its_multiple_of_the_share(
    engine: DetectionEngine, rate_multiplier: float
) -> None:
    """A category reported steadily at several times its platform share from the
    broadcast's first report is that broadcast's own rate, not a climb (on the
    platform's share as the baseline, the doubled rate paged as a ramp)."""
    sent = run(engine, steady_reports(rate_multiplier, 40))
    assert [e for e in sent if e.escalation_class is EscalationClass.REPORT_RAMP] == []


def test_a_mid_size_broadcast_over_reporting_a_category_for_hours_seldom_ramps(
    policy: Policy,
) -> None:
    """Eight 20k-viewer broadcasts live for two hours, each audience reporting harassment
    steadily at four times the platform's share and the rest at it. Such a category's
    reference holds a few dozen reports, and read as their estimate less its doubt it ran
    low enough for a CUSUM for a doubling to drift upwards: six of the eight paged. Read
    as the estimate, a reference low by chance still pages one now and then."""
    engine = DetectionEngine(policy)
    paged = 0
    for seed in range(8):
        reports = steady_broadcast(
            policy,
            viewers=20_000,
            scale=1.0,
            seconds=7200.0,
            seed=seed,
            broadcast_id="mid",
            tilt={Category.HARASSMENT: 4.0},
        )
        state = BroadcastState("mid")
        ramps = []
        for report in reports:
            ramps += [
                e
                for e in engine.observe(state, report).escalations
                if e.escalation_class is EscalationClass.REPORT_RAMP
            ]
            engine.tick(state, report.event_time)
        paged += bool(ramps)
    assert paged <= 1


def test_ramp_statistic_survives_the_state_round_trip(engine: DetectionEngine) -> None:
    state = BroadcastState("b-ramp")
    for report in climbing_reports(14):
        engine.observe(state, report)
    restored = BroadcastState.from_bytes(state.to_bytes())
    assert restored.ramps == state.ramps
    assert state.ramps[Category.HARASSMENT].statistic > 0


@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0, 10.0])
def test_the_ramp_never_fires_on_a_steady_rate_whatever_the_prior(
    engine: DetectionEngine, policy: Policy, scale: float
) -> None:
    """A 300k-viewer broadcast reporting steadily at ``scale`` x the priors for twenty
    minutes, judged on the priors alone (no learner): its own history sets the baseline."""
    state = BroadcastState("big")
    sent = [
        escalation
        for report in steady_broadcast(policy, viewers=300_000, scale=scale, seconds=1200)
        for escalation in engine.observe(state, report).escalations
    ]
    assert [e for e in sent if e.escalation_class is EscalationClass.REPORT_RAMP] == []


def test_a_broadcast_is_held_to_a_mark_for_the_categories_it_reports() -> None:
    """k CUSUMs reach a mark h by chance about k times as often as one: held to
    threshold - ln(N / k), every broadcast's false ramps come about as often."""
    every = len(Category)
    assert broadcast_threshold(10.0, every) == 10.0
    assert broadcast_threshold(10.0, 1) == pytest.approx(10.0 - math.log(every))
    assert broadcast_threshold(10.0, 0) == broadcast_threshold(10.0, 1)
    marks = [broadcast_threshold(10.0, k) for k in range(1, every + 1)]
    assert marks == sorted(marks)


def test_loudness_elsewhere_is_the_other_categories_excess_and_never_below_one() -> None:
    assert loudness_elsewhere(30.0, 10.0, prior_reports=10.0) == pytest.approx(2.0)
    assert loudness_elsewhere(0.0, 10.0, prior_reports=10.0) == 1.0
    assert loudness_elsewhere(3.0, 0.5, prior_reports=10.0) < 1.3, "a few reports hardly move it"


def test_a_window_shorter_than_the_span_bounds_it(policy: Policy) -> None:
    short = policy.model_copy(
        update={"window": policy.window.model_copy(update={"length_seconds": 30.0})}
    )
    assert DetectionEngine(short).expectation.elsewhere_buckets == 3
    assert DetectionEngine(policy).expectation.elsewhere_buckets == 6


@pytest.mark.parametrize("seed", range(1, 13))
def test_a_whole_broadcast_getting_louder_slowly_never_ramps(
    engine: DetectionEngine, policy: Policy, seed: int
) -> None:
    """300k viewers at three times the priors, every category rising together to twice that
    over an hour: the broadcast getting louder, not one category climbing. Judged against
    the broadcast's level alone, which follows at the history's half-life, each category ran
    above it for long enough that one of them paged as a ramp."""
    state = BroadcastState("big")
    reports = steady_broadcast(
        policy, viewers=300_000, scale=3.0, seconds=3600, rise=2.0, seed=seed
    )
    sent = [e for report in reports for e in engine.observe(state, report).escalations]
    assert [e for e in sent if e.severity.pages] == []


def test_the_window_guard_reads_the_level_raised_by_the_other_categories(
    engine: DetectionEngine, policy: Policy
) -> None:
    """A broadcast whose every category tripled over half an hour: its window is above a
    level that lags the growth, so the guard, read against the level alone, would let the
    CUSUM page on its own; the loudness the ramp last saw raises it as it raises the
    CUSUM's baseline."""
    state = BroadcastState("big")
    for report in steady_broadcast(policy, viewers=300_000, scale=1.0, seconds=1800, rise=3.0):
        engine.observe(state, report)
    ramp = state.ramps[Category.HARASSMENT]
    assert ramp.loudness > 1.1
    rates = engine.expectation.rates(state, engine.expectation.population(None))
    odds, _ = engine.views.of_report(
        state,
        Category.HARASSMENT,
        state.windows[Category.HARASSMENT],
        rates,
        ramp.bucket or 0,
        level_variation=engine.figures.rate_variation,
    )
    assert odds.view.ramp_rate == pytest.approx(rates.level_of(Category.HARASSMENT) * ramp.loudness)


def test_a_category_climbing_while_the_others_hold_still_is_a_ramp(
    engine: DetectionEngine, policy: Policy
) -> None:
    """The climb of the tests above, on a broadcast whose other categories report steadily
    at the priors: the others do not get louder, so they do not raise its baseline."""
    others = [
        report.model_copy(update={"reporter_id": f"other-{report.reporter_id}"})
        for report in steady_broadcast(policy, viewers=VIEWERS, scale=1.0, seconds=25 * 60)
        if report.category is not Category.HARASSMENT
    ]
    sent = run(engine, sorted(others + climbing_reports(), key=lambda r: r.event_time))
    triggers = [e for e in sent if e.event_action is EventAction.TRIGGER]
    assert [(e.escalation_class, e.labels.category) for e in triggers] == [
        (EscalationClass.REPORT_RAMP, Category.HARASSMENT)
    ]
    assert 600 < triggers[0].detected_at.timestamp() - T0 < 20 * 60


def test_a_broadcast_over_reporting_several_categories_steadily_never_ramps(
    policy: Policy,
) -> None:
    """Sixteen 200k-viewer broadcasts, 35 minutes live, reporting harassment, adult
    content, hateful conduct and "other" at three times their shares (about twice the
    platform's level in all), self-harm at a fifth of its share and the rest at theirs,
    all steadily: a ramp on one at most (one of forty such broadcasts pages). The level's
    share, below which no baseline goes, holds these references above their noise; a
    floor at the ordinary level (the level less the over-reported categories' excess)
    paged four of these sixteen and thirteen of forty (docs/unseen-traffic.md,
    twenty-eighth pass)."""
    tilted = (Category.HARASSMENT, Category.ADULT_CONTENT, Category.HATEFUL_CONDUCT, Category.OTHER)
    multiple = {category: 3.0 for category in tilted} | {Category.SELF_HARM: 0.2}
    paged = []
    for seed in range(16):
        reports = steady_broadcast(
            policy,
            viewers=VIEWERS,
            scale=1.0,
            seconds=35 * 60.0,
            seed=seed,
            broadcast_id="tilted",
            tilt=multiple,
        )
        engine, state = DetectionEngine(policy), BroadcastState("tilted")
        for report in reports:
            paged += [
                (seed, e.labels.category)
                for e in engine.observe(state, report).escalations
                if e.event_action is EventAction.TRIGGER
            ]
            engine.tick(state, report.event_time)
    assert len({seed for seed, _ in paged}) <= 1
