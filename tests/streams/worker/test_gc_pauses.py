from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from streams.worker.gc_pauses import FROZEN_COUNT_MAX_AGE_SECONDS, GcPauses
from streams.worker.metrics import WorkerMetrics


@pytest.fixture
def metrics() -> WorkerMetrics:
    return WorkerMetrics(["trust-and-safety"])


@pytest.fixture(autouse=True)
def explicit_collections_only() -> Iterator[None]:
    """Only the test's own collections run, and whatever they froze is handed back to
    the collector afterwards: the test process outlives the test."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@contextmanager
def installed(metrics: WorkerMetrics, *, freeze_survivors: bool) -> Iterator[GcPauses]:
    pauses = GcPauses(
        metrics.gc_pauses, metrics.gc_frozen_objects, freeze_survivors=freeze_survivors
    )
    pauses.install()
    try:
        yield pauses
    finally:
        pauses.uninstall()


def observed(metrics: WorkerMetrics, generation: str) -> float:
    count = metrics.registry.get_sample_value(
        "spikewatch_gc_pause_seconds_count", {"generation": generation}
    )
    return count or 0.0


def test_each_collection_is_observed_under_its_generation(metrics: WorkerMetrics) -> None:
    with installed(metrics, freeze_survivors=False):
        gc.collect(2)
        gc.collect(0)
    assert observed(metrics, "2") >= 1
    assert observed(metrics, "0") >= 1


def test_installing_twice_times_each_collection_once(metrics: WorkerMetrics) -> None:
    with installed(metrics, freeze_survivors=False) as pauses:
        pauses.install()
        before = observed(metrics, "2")
        gc.collect(2)
    assert observed(metrics, "2") == before + 1


def test_nothing_is_observed_after_uninstalling(metrics: WorkerMetrics) -> None:
    pauses = GcPauses(metrics.gc_pauses, metrics.gc_frozen_objects, freeze_survivors=False)
    pauses.install()
    pauses.uninstall()
    gc.collect(2)
    assert observed(metrics, "2") == 0


def mark(n: int) -> tuple[float, int]:
    """A tuple built at run time, hence tracked (a constant one is not)."""
    return (float(n), n)


@pytest.mark.parametrize("generation", [1, 2])
def test_survivors_of_a_middle_or_full_collection_are_frozen_out_of_the_next_ones(
    metrics: WorkerMetrics, generation: int
) -> None:
    survivor: list[object] = [object()]
    with installed(metrics, freeze_survivors=True):
        gc.collect(generation)
    assert gc.get_freeze_count() > 0
    assert not any(tracked is survivor for tracked in gc.get_objects())


def test_a_dict_tracked_again_by_a_new_mark_stays_frozen(metrics: WorkerMetrics) -> None:
    """The windows' reporter dicts: untracked once their marks are, tracked again by the
    next mark, and then walked by every full collection unless frozen."""
    marks = {f"viewer-{n}": mark(n) for n in range(100)}
    gc.collect(2)
    assert not gc.is_tracked(marks)
    marks["viewer-new"] = mark(100)
    assert gc.is_tracked(marks)
    with installed(metrics, freeze_survivors=True):
        gc.collect(1)
    assert not any(tracked is marks for tracked in gc.get_objects())
    marks["viewer-newer"] = mark(101)
    gc.collect(2)
    assert gc.is_tracked(marks), "a frozen dict is never untracked, so never moves again"
    assert not any(tracked is marks for tracked in gc.get_objects())


def test_young_collections_freeze_nothing(metrics: WorkerMetrics) -> None:
    with installed(metrics, freeze_survivors=True):
        gc.collect(0)
    assert gc.get_freeze_count() == 0


def test_freezing_can_be_turned_off(metrics: WorkerMetrics) -> None:
    with installed(metrics, freeze_survivors=False):
        gc.collect(2)
    assert gc.get_freeze_count() == 0


def frozen_gauge(metrics: WorkerMetrics) -> float | None:
    return metrics.registry.get_sample_value("spikewatch_gc_frozen_objects")


def test_the_frozen_count_is_read_at_most_once_a_minute(metrics: WorkerMetrics) -> None:
    now = [1000.0]
    pauses = GcPauses(
        metrics.gc_pauses,
        metrics.gc_frozen_objects,
        freeze_survivors=True,
        clock=lambda: now[0],
    )
    pauses.install()
    try:
        assert frozen_gauge(metrics) == 0
        gc.collect(2)
        assert frozen_gauge(metrics) == 0, "still the count read less than a minute ago"
        now[0] += FROZEN_COUNT_MAX_AGE_SECONDS
        assert frozen_gauge(metrics) == gc.get_freeze_count() > 0
    finally:
        pauses.uninstall()
