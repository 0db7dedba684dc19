from __future__ import annotations

from prometheus_client import generate_latest

from alerting.policy import load_policy
from streams.tools.soak import sample_from, warm_up_seconds
from streams.worker.metrics import WorkerMetrics
from tests.alerting.helpers import with_changes


def test_a_sample_reads_the_workers_own_exposition() -> None:
    metrics = WorkerMetrics(["trust-and-safety"])
    metrics.broadcasts_tracked.set(1234)
    metrics.consumer_lag.labels("0").set(5)
    metrics.consumer_lag.labels("1").set(7)
    for seconds in (0.003, 0.2, 0.3, 1.7):
        metrics.gc_pauses.labels("2").observe(seconds)
    metrics.gc_pauses.labels("1").observe(0.9)

    sample = sample_from(generate_latest(metrics.registry).decode(), elapsed=60.0)

    assert sample.broadcasts_tracked == 1234
    assert sample.lag_messages == 12
    assert sample.slow_full_collections == 2
    assert sample.frozen_objects >= 0
    assert sample.rss_bytes > 0
    assert "gc>0.25s=2" in sample.line()


def test_the_warm_up_outlasts_whichever_of_the_state_grows_longest() -> None:
    """The windows fill for their length and lateness; a ramp's reference holds each
    bucket for its lag once its opening is over. Memory is judged after both."""
    policy = load_policy()
    ramp_horizon = policy.ramp.reference_opening_seconds + policy.ramp.reference_lag_seconds
    window_horizon = policy.window.length_seconds + policy.window.allowed_lateness_seconds
    assert warm_up_seconds(policy) > max(ramp_horizon, window_horizon)
    short_ramps = with_changes(
        policy, ramp={"reference_opening_seconds": 60, "reference_lag_seconds": 60}
    )
    assert window_horizon < warm_up_seconds(short_ramps) < warm_up_seconds(policy)
