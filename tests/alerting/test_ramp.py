"""Slow ramps: the CUSUM catches a climb that no single window shows as a burst."""

from __future__ import annotations

import math

import pytest

from alerting.detectors import AudienceSpikeDetector, CredibleReportDetector
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.ramp import RampState
from alerting.state import BroadcastState
from models.escalation import EscalationClass, EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import HARASSMENT_RATE, ORDINARY, T0, make_report, steady_broadcast

VIEWERS = 200_000


def test_cusum_adds_the_log_likelihood_ratio_of_each_closed_bucket(policy: Policy) -> None:
    ramp = RampState()
    ramp.advance(100, 0.5, policy.ramp)
    ramp.add(3000)
    ramp.advance(101, 0.5, policy.ramp)
    m = policy.ramp.rate_multiplier
    assert ramp.statistic == pytest.approx(3 * math.log(m) - (m - 1) * 0.5)
    ramp.advance(104, 0.5, policy.ramp)  # one bucket with nothing, two empty ones
    assert ramp.statistic == pytest.approx(max(0.0, 3 * math.log(m) - 4 * (m - 1) * 0.5))


def test_cusum_never_goes_below_zero_and_ignores_late_buckets(policy: Policy) -> None:
    ramp = RampState()
    ramp.advance(10, 5.0, policy.ramp)
    ramp.advance(20, 5.0, policy.ramp)
    assert ramp.statistic == 0.0
    ramp.add(1000)
    ramp.advance(15, 5.0, policy.ramp)
    assert (ramp.bucket, ramp.pending_milli) == (20, 1000)


def steady_reports(rate_multiplier: float, minutes: int) -> list[ReportEvent]:
    """Reports at exactly ``rate_multiplier`` x the harassment base rate, evenly spaced."""
    spacing = 1 / (HARASSMENT_RATE * VIEWERS * rate_multiplier)
    count = int(minutes * 60 / spacing)
    return [
        make_report(f"viewer-{i}", at=T0 + i * spacing, viewers=VIEWERS, reporter=ORDINARY)
        for i in range(count)
    ]


def run(engine: DetectionEngine, reports: list[ReportEvent]) -> list[EscalationV2]:
    state = BroadcastState("b-ramp")
    return [e for report in reports for e in engine.observe(state, report).escalations]


def test_a_doubled_rate_held_for_twenty_minutes_is_missed_by_the_burst_detector(
    policy: Policy,
) -> None:
    bursts_only = DetectionEngine(
        policy, detectors=(CredibleReportDetector(), AudienceSpikeDetector())
    )
    assert run(bursts_only, steady_reports(2.0, 20)) == []


def test_the_same_doubled_rate_is_caught_once_as_a_ramp(engine: DetectionEngine) -> None:
    sent = run(engine, steady_reports(2.0, 20))
    assert [(e.event_action, e.escalation_class) for e in sent] == [
        (EventAction.TRIGGER, EscalationClass.REPORT_RAMP)
    ]
    fired = {r.rule: r.figures for r in sent[0].evidence.rules if r.fired}
    assert set(fired) == {"report_ramp"}
    assert float(fired["report_ramp"]["cusum"]) >= engine.policy.ramp.threshold
    assert sent[0].detected_at.timestamp() - T0 < 15 * 60


def test_the_base_rate_itself_never_ramps(engine: DetectionEngine) -> None:
    assert run(engine, steady_reports(1.0, 40)) == []


def test_ramp_statistic_survives_the_state_round_trip(engine: DetectionEngine) -> None:
    state = BroadcastState("b-ramp")
    for report in steady_reports(2.0, 5):
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
