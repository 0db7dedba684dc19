"""Tests for models/escalation_v2.py: the Escalation v2 wire contract and v1 upgrade."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from models.escalation import EscalationClass, EscalationLabels, EventAction, RuleFiring, Severity
from models.escalation_v2 import (
    MAX_SERIES_POINTS,
    CategoryEvidence,
    EscalationV2,
    EvidenceV2,
    SeriesPoint,
    TrustMix,
    parse_escalation,
)
from models.report import Category
from tests.models.test_escalation import escalation as v1_escalation

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
END = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)


def evidence(**changes: Any) -> EvidenceV2:
    fields: dict[str, Any] = {
        "reports": 12,
        "distinct_reporters": 9,
        "weighted_reporters": 8.5,
        "viewers": 1200,
        "expected_reports": 0.4,
        "window_start": START,
        "window_end": END,
        "leading_category": Category.HARASSMENT,
        "categories": [
            CategoryEvidence(
                category=Category.HARASSMENT,
                reports=8,
                distinct_reporters=6,
                weighted_reporters=6.0,
                expected_reports=0.2,
            ),
            CategoryEvidence(
                category=Category.HATEFUL_CONDUCT,
                reports=4,
                distinct_reporters=3,
                weighted_reporters=2.5,
                expected_reports=0.2,
            ),
        ],
        "trust_mix": TrustMix(trusted=0.1, ordinary=0.8, suspect=0.1, unknown=0.0),
        "coordinated_share": 0.0,
        "sample_report_ids": ["r-1"],
        "rules": [RuleFiring(rule="audience_spike", fired=True, reason="above")],
        "series": [SeriesPoint(bucket_start=START, weighted_reporters=3.0, expected=0.01)],
    }
    fields.update(changes)
    return EvidenceV2(**fields)


def escalation(**changes: Any) -> EscalationV2:
    fields: dict[str, Any] = {
        "event_id": "0b7a4c53-0000-5000-8000-000000000000",
        "dedup_key": "spikewatch:b-1:trust-safety:1",
        "sequence": 1,
        "event_action": EventAction.TRIGGER,
        "severity": Severity.ERROR,
        "escalation_class": EscalationClass.REPORT_SPIKE,
        "summary": "report_spike on broadcast b-1",
        "labels": EscalationLabels(broadcast_id="b-1", category=Category.HARASSMENT, team="t"),
        "evidence": evidence(),
        "detected_at": END,
        "starts_at": END,
        "policy_version": "test-1",
    }
    fields.update(changes)
    return EscalationV2(**fields)


def test_wire_form_round_trips_through_parse_escalation() -> None:
    original = escalation(related=["spikewatch:b-1:child-safety:2"])
    wire = original.to_json_bytes()
    assert json.loads(wire)["schema_version"] == 2
    assert json.loads(wire)["class"] == "report_spike"
    assert parse_escalation(wire) == original


def test_a_v1_event_is_read_as_v2_with_its_category_leading() -> None:
    old = v1_escalation()
    upgraded = parse_escalation(old.to_json_bytes())
    assert upgraded.schema_version == 2
    assert upgraded.dedup_key == old.dedup_key
    assert upgraded.evidence.leading_category is old.labels.category
    assert [c.category for c in upgraded.evidence.categories] == [old.labels.category]
    assert upgraded.evidence.series is None


def test_series_is_optional_and_bounded() -> None:
    assert escalation(evidence=evidence(series=None)).evidence.series is None
    point = SeriesPoint(bucket_start=START, weighted_reporters=0.0, expected=0.0)
    with pytest.raises(ValidationError):
        evidence(series=[point] * (MAX_SERIES_POINTS + 1))


def test_shares_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValidationError):
        TrustMix(trusted=1.5, ordinary=0.0, suspect=0.0, unknown=0.0)
    with pytest.raises(ValidationError):
        evidence(coordinated_share=-0.1)


def test_an_unknown_schema_version_is_refused() -> None:
    wire = json.loads(escalation().to_json_bytes())
    wire["schema_version"] = 3
    with pytest.raises(ValidationError):
        parse_escalation(json.dumps(wire))
