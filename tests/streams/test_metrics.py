"""Metric labels stay bounded whatever the input says."""

from __future__ import annotations

from streams.metrics import OTHER, Outcome, WorkerMetrics, bounded


def test_bounded_maps_unknown_and_missing_values_to_other() -> None:
    assert bounded("spam", {"spam"}) == "spam"
    assert bounded("broadcast-123", {"spam"}) == OTHER
    assert bounded(None, {"spam"}) == OTHER


def test_report_counter_never_takes_free_text_labels() -> None:
    metrics = WorkerMetrics({"team-a"})
    metrics.count_report("made-up", "myspace", Outcome.ACCEPTED)
    value = metrics.registry.get_sample_value(
        "spikewatch_reports_received_total",
        {"category": OTHER, "platform": OTHER, "outcome": "accepted"},
    )
    assert value == 1


def test_latency_exemplar_accepts_the_longest_broadcast_id() -> None:
    metrics = WorkerMetrics({"team-a"})
    metrics.observe_decision_latency(0.2, "b" * 128)
    assert metrics.registry.get_sample_value("spikewatch_decision_latency_seconds_count") == 1
