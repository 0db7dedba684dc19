"""Tests for models/escalation.py: the Escalation v1 wire contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from models.escalation import (
    MAX_SAMPLE_REPORT_IDS,
    Escalation,
    EscalationClass,
    EscalationLabels,
    EventAction,
    Evidence,
    RuleFiring,
    Severity,
)
from models.report import Category

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
END = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)


def evidence(**changes: Any) -> Evidence:
    fields: dict[str, Any] = {
        "reports": 7,
        "distinct_reporters": 6,
        "viewers": 120,
        "expected_reports": 0.0108,
        "window_start": START,
        "window_end": END,
        "sample_report_ids": ["r-1", "r-2"],
        "rules": [RuleFiring(rule="audience_spike", fired=True, figures={"p": 1e-9}, reason="x")],
    }
    fields.update(changes)
    return Evidence(**fields)


def escalation(**changes: Any) -> Escalation:
    fields: dict[str, Any] = {
        "event_id": "0b7a4c53-0000-5000-8000-000000000000",
        "dedup_key": "spikewatch:b-1:harassment:1",
        "sequence": 1,
        "event_action": EventAction.TRIGGER,
        "severity": Severity.ERROR,
        "escalation_class": EscalationClass.REPORT_SPIKE,
        "summary": "report_spike: harassment on broadcast b-1",
        "labels": EscalationLabels(broadcast_id="b-1", category=Category.HARASSMENT, team="t"),
        "evidence": evidence(),
        "detected_at": END,
        "starts_at": END,
        "policy_version": "test-1",
    }
    fields.update(changes)
    return Escalation(**fields)


def test_severity_ranks_critical_above_error_above_warning_above_info() -> None:
    ordered = [Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL]
    assert [s.rank for s in ordered] == sorted(s.rank for s in ordered)
    assert len({s.rank for s in Severity}) == len(Severity)


def test_severity_pages_only_for_critical_and_error() -> None:
    assert {s for s in Severity if s.pages} == {Severity.CRITICAL, Severity.ERROR}


def test_event_actions_are_the_pagerduty_ones() -> None:
    assert {a.value for a in EventAction} == {"trigger", "update", "resolve"}


def test_escalation_wire_form_uses_class_and_keeps_nulls() -> None:
    wire = json.loads(escalation().to_json_bytes())
    assert wire["class"] == "report_spike"
    assert "escalation_class" not in wire
    assert wire["ends_at"] is None
    assert wire["labels"]["region"] is None
    assert wire["schema_version"] == 1
    assert wire["source"] == "spikewatch"
    assert wire["shadow"] is False


def test_escalation_wire_form_round_trips() -> None:
    original = escalation(event_action=EventAction.RESOLVE, sequence=3, ends_at=END)
    assert Escalation.model_validate_json(original.to_json_bytes()) == original


def test_escalation_accepts_field_name_and_alias() -> None:
    by_alias = Escalation.model_validate(
        {**json.loads(escalation().to_json_bytes()), "class": "critical_report"}
    )
    assert by_alias.escalation_class is EscalationClass.CRITICAL_REPORT


def test_escalation_sequence_starts_at_one() -> None:
    with pytest.raises(ValidationError):
        escalation(sequence=0)


def test_escalation_summary_is_bounded() -> None:
    escalation(summary="s" * 1024)
    with pytest.raises(ValidationError):
        escalation(summary="s" * 1025)


def test_escalation_times_must_be_aware() -> None:
    with pytest.raises(ValidationError):
        escalation(detected_at=datetime(2026, 11, 26, 12, 0))


def test_evidence_keeps_at_most_twenty_sample_ids() -> None:
    assert MAX_SAMPLE_REPORT_IDS == 20
    evidence(sample_report_ids=[f"r{i}" for i in range(20)])
    with pytest.raises(ValidationError):
        evidence(sample_report_ids=[f"r{i}" for i in range(21)])


@pytest.mark.parametrize("field", ["reports", "distinct_reporters", "viewers"])
def test_evidence_counts_are_not_negative(field: str) -> None:
    with pytest.raises(ValidationError):
        evidence(**{field: -1})


def test_evidence_viewers_may_be_unknown() -> None:
    assert evidence(viewers=None).viewers is None


def test_escalation_is_frozen() -> None:
    with pytest.raises(ValidationError):
        escalation().sequence = 2  # type: ignore[misc]
