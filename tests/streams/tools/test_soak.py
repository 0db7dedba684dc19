from __future__ import annotations

from prometheus_client import generate_latest

from streams.tools.soak import sample_from
from streams.worker.metrics import WorkerMetrics


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
