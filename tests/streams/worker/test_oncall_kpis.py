"""On-call KPIs without a broker: escalations read back, acknowledgements, dead letters."""

from __future__ import annotations

import time

import orjson

from alerting.engine import DetectionEngine
from alerting.policy import OncallPolicy, load_policy
from alerting.state import BroadcastState
from models.dead_letter import DeadLetterReason
from models.decode import Rejection, decode_acknowledgement
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import ReportEvent
from streams.worker.metrics import WorkerMetrics
from streams.worker.oncall_kpis import OncallKpiRecorder
from streams.worker.pipeline import InputMessage
from tests.support.acks import acknowledgement
from tests.support.escalations import escalation
from tests.support.reports import TRUSTED_FLAGGER, report

POLICY = load_policy()
ACKS = "acks"


def single_partition(_key: bytes) -> int:
    return 0


def recorder(
    table: dict[bytes, bytes], policy: OncallPolicy | None = None
) -> tuple[OncallKpiRecorder, WorkerMetrics]:
    metrics = WorkerMetrics(POLICY.teams)
    kpis = OncallKpiRecorder(
        table,
        policy or POLICY.oncall,
        metrics,
        ack_topic=ACKS,
        partition_of=single_partition,
        max_message_bytes=64 * 1024,
    )
    return kpis, metrics


def critical_trigger(broadcast_id: str, at: float) -> EscalationV2:
    """A real trigger from the core: a trusted flagger's child-safety report."""
    payload = report(broadcast_id, "child_safety", reporter=dict(TRUSTED_FLAGGER), at=at)
    event = ReportEvent.model_validate(payload)
    observation = DetectionEngine(POLICY).observe(BroadcastState(broadcast_id), event, at)
    (trigger,) = observation.escalations
    return trigger


def message(topic: str, key: bytes | None, value: bytes, partition: int = 0) -> InputMessage:
    return InputMessage(topic=topic, partition=partition, offset=0, key=key, value=value)


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_trigger_then_person_ack_and_resolve_feed_every_kpi_and_survive_a_restart() -> None:
    now = time.time()
    table: dict[bytes, bytes] = {}
    kpis, metrics = recorder(table)
    trigger = critical_trigger("kpi-b1", now)
    key = trigger.dedup_key.encode()
    kpis.process(message("oncall.child-safety", key, trigger.to_json_bytes()), now)
    assert (
        sample(
            metrics,
            "spikewatch_oncall_incidents_incoming_total",
            team="child-safety",
            severity="critical",
            review="manual",
        )
        == 1
    )
    kpis.sweep(now + 1, {0})
    assert sample(metrics, "spikewatch_oncall_awaiting_acknowledgement", severity="critical") == 1

    restarted, metrics = recorder(table)
    _, ack_value = acknowledgement(trigger.dedup_key, at=now + 42)
    restarted.process(message(ACKS, key, ack_value), now + 43)
    _, resolve_value = acknowledgement(trigger.dedup_key, "resolved", at=now + 100)
    restarted.process(message(ACKS, key, resolve_value), now + 101)

    tta = "spikewatch_oncall_time_to_acknowledge_seconds"
    assert sample(metrics, f"{tta}_count", severity="critical") == 1
    assert 41 <= sample(metrics, f"{tta}_sum", severity="critical") <= 43
    assert sample(metrics, "spikewatch_oncall_handle_time_seconds_sum", severity="critical") == 58
    assert (
        sample(
            metrics,
            "spikewatch_oncall_incidents_solved_total",
            team="child-safety",
            severity="critical",
            resolved_by="person",
        )
        == 1
    )
    matched = {"action": "acknowledged", "actor": "human", "outcome": "matched"}
    assert sample(metrics, "spikewatch_acknowledgements_received_total", **matched) == 1


def test_unacknowledged_incident_breaches_its_sla_once_in_the_sweep() -> None:
    now = time.time()
    kpis, metrics = recorder({}, OncallPolicy(ack_sla_seconds={"critical": 10.0}))
    trigger = critical_trigger("kpi-b2", now)
    kpis.process(
        message("oncall.child-safety", trigger.dedup_key.encode(), trigger.to_json_bytes()), now
    )
    kpis.sweep(now + 5, {0})
    breaches = {"team": "child-safety", "severity": "critical"}
    assert sample(metrics, "spikewatch_oncall_sla_breaches_total", **breaches) == 0
    kpis.sweep(now + 11, {0})
    kpis.sweep(now + 12, {0})
    assert sample(metrics, "spikewatch_oncall_sla_breaches_total", **breaches) == 1


def test_a_warning_raised_to_a_page_is_counted_and_its_sla_runs_from_the_raise() -> None:
    now = time.time()
    kpis, metrics = recorder({}, OncallPolicy(ack_sla_seconds={"critical": 10.0}))
    key = "spikewatch:kpi-b3:child_safety:1"
    opened = escalation(key, EventAction.TRIGGER, Severity.WARNING, at=now, team="child-safety")
    raised = escalation(key, EventAction.UPDATE, at=now + 600, team="child-safety")
    for event in (opened, raised):
        kpis.process(message("oncall.child-safety", key.encode(), event.to_json_bytes()), now + 600)
    labels = {"team": "child-safety", "severity": "critical"}
    assert sample(metrics, "spikewatch_oncall_incidents_raised_to_page_total", **labels) == 1
    kpis.sweep(now + 605, {0})
    assert sample(metrics, "spikewatch_oncall_sla_breaches_total", **labels) == 0
    kpis.sweep(now + 611, {0})
    assert sample(metrics, "spikewatch_oncall_sla_breaches_total", **labels) == 1


def test_acks_for_unknown_incidents_are_counted_and_misrouted_acks_are_rerouted() -> None:
    kpis, metrics = recorder({})
    key, value = acknowledgement("pd-unknown-incident")
    assert kpis.process(message(ACKS, key, value), time.time()).reroutes == []
    unknown = {"action": "acknowledged", "actor": "human", "outcome": "unknown_incident"}
    assert sample(metrics, "spikewatch_acknowledgements_received_total", **unknown) == 1

    output = kpis.process(message(ACKS, b"wrong-key", value), time.time())
    assert output.reroutes == [(key, value)]
    assert kpis.process(message(ACKS, key, value, partition=1), time.time()).reroutes


def test_bad_acknowledgements_and_escalations_go_to_the_dead_letter_list_with_reason() -> None:
    kpis, metrics = recorder({})
    bad_ack = orjson.dumps({"schema_version": 1, "dedup_key": "k", "action": "snoozed"})
    output = kpis.process(message(ACKS, b"k", bad_ack), time.time())
    output_2 = kpis.process(message("oncall.general", b"k", b"\xff\xfe"), time.time())
    letters = [letter for _, letter in output.dead_letters + output_2.dead_letters]
    assert [letter.reason for letter in letters] == [
        DeadLetterReason.INVALID_FIELD,
        DeadLetterReason.NOT_UTF8,
    ]
    assert sample(metrics, "spikewatch_oncall_dead_letters_total", reason="not_utf8") == 1


def test_acknowledgement_decoding_names_bad_timestamps() -> None:
    _, value = acknowledgement("k")
    bad = value.replace(b'"acted_at":"', b'"acted_at":"yesterday ')
    rejection = decode_acknowledgement(bad)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is DeadLetterReason.BAD_TIMESTAMP
    assert not isinstance(decode_acknowledgement(value), Rejection)
