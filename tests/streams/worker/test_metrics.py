"""Metric labels stay bounded whatever the input says."""

from __future__ import annotations

import re

from alerting.incidents import decided_too_late
from alerting.policy import LifecyclePolicy
from models.escalation import EventAction, Severity
from streams.worker.metric_labels import (
    EXEMPLAR_LABEL_BUDGET,
    OTHER,
    bounded,
    broadcast_exemplar,
)
from streams.worker.metrics import Outcome, WorkerMetrics
from tests.support.broker import REPO_ROOT
from tests.support.escalations import escalation


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


def test_documented_metric_table_lists_exactly_the_metrics_the_worker_declares() -> None:
    page = (REPO_ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(spikewatch_[a-z_]+)` \|", page, re.MULTILINE))
    suffix = {"counter": "_total", "info": "_info"}
    declared = {
        family.name + suffix.get(family.type, "")
        for family in WorkerMetrics({"team-a"}).registry.collect()
        if family.name.startswith("spikewatch_")
    }
    assert documented == declared


def test_exemplars_fit_the_openmetrics_label_budget() -> None:
    exemplar = broadcast_exemplar("b" * 128)
    assert sum(len(k) + len(v) for k, v in exemplar.items()) == EXEMPLAR_LABEL_BUDGET
    assert broadcast_exemplar("short") == {"broadcast_id": "short"}


def test_alerted_counters_exist_at_zero_before_their_first_increment() -> None:
    metrics = WorkerMetrics({"team-a"})
    sample = metrics.registry.get_sample_value
    labels = {"category": "spam", "platform": "twitter", "outcome": "accepted"}
    assert sample("spikewatch_reports_received_total", labels) == 0
    assert sample("spikewatch_dead_letters_total", {"reason": "not_json"}) == 0
    breach = {"team": "team-a", "severity": "critical"}
    assert sample("spikewatch_oncall_sla_breaches_total", breach) == 0
    late = {"action": "trigger", "team": "team-a"}
    assert sample("spikewatch_escalations_decided_late_total", late) == 0
    raised = {"team": "team-a", "severity": "error"}
    assert sample("spikewatch_oncall_incidents_raised_to_page_total", raised) == 0


def test_escalations_decided_too_late_to_page_are_counted_by_their_first_rule() -> None:
    metrics = WorkerMetrics({"t"})
    on_time = escalation("k", EventAction.TRIGGER, Severity.WARNING)
    held = on_time.model_copy(
        update={
            "evidence": on_time.evidence.model_copy(
                update={"rules": [decided_too_late(1200.0, LifecyclePolicy())]}
            )
        }
    )
    metrics.count_escalation(on_time)
    late = {"action": "trigger", "team": "t"}
    assert metrics.registry.get_sample_value("spikewatch_escalations_decided_late_total", late) == 0
    metrics.count_escalation(held)
    assert metrics.registry.get_sample_value("spikewatch_escalations_decided_late_total", late) == 1


def test_forgetting_a_partition_drops_its_gauges_even_if_never_set() -> None:
    metrics = WorkerMetrics({"team-a"})
    metrics.consumer_lag.labels("3").set(7)
    metrics.forget_partition(3)
    metrics.forget_partition(5)
    assert (
        metrics.registry.get_sample_value("spikewatch_consumer_lag_messages", {"partition": "3"})
        is None
    )
