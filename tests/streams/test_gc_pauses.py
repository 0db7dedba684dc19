from __future__ import annotations

import gc

import pytest

from streams.gc_pauses import GcPauseTimer
from streams.metrics import WorkerMetrics


@pytest.fixture
def metrics() -> WorkerMetrics:
    return WorkerMetrics(["trust-and-safety"])


def observed(metrics: WorkerMetrics, generation: str) -> float:
    count = metrics.registry.get_sample_value(
        "spikewatch_gc_pause_seconds_count", {"generation": generation}
    )
    return count or 0.0


def test_each_collection_is_observed_under_its_generation(metrics: WorkerMetrics) -> None:
    timer = GcPauseTimer(metrics.gc_pauses)
    timer.install()
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        timer.uninstall()
    assert observed(metrics, "2") >= 1
    assert observed(metrics, "0") >= 1


def test_installing_twice_times_each_collection_once(metrics: WorkerMetrics) -> None:
    timer = GcPauseTimer(metrics.gc_pauses)
    timer.install()
    timer.install()
    try:
        before = observed(metrics, "2")
        gc.collect(2)
    finally:
        timer.uninstall()
    assert observed(metrics, "2") == before + 1


def test_nothing_is_observed_after_uninstalling(metrics: WorkerMetrics) -> None:
    timer = GcPauseTimer(metrics.gc_pauses)
    timer.install()
    timer.uninstall()
    gc.collect(2)
    assert observed(metrics, "2") == 0
