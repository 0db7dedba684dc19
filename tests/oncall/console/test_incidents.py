"""Folding escalations, acknowledgements and verdicts into the console's incident records."""

from __future__ import annotations

from datetime import timedelta

from models.acknowledgement import AckAction
from models.escalation import EventAction, Severity
from models.escalation_v2 import parse_escalation
from models.verdict import VerdictKind
from oncall.console.incidents import (
    IncidentRecord,
    Moment,
    Resolution,
    fold_acknowledgement,
    fold_escalation,
    fold_verdict,
)
from tests.support.escalations import escalation as escalation_v1
from tests.support.incidents import T0, acknowledgement, escalation_v2, verdict


def test_trigger_opens_an_incident_with_its_labels_and_evidence() -> None:
    record = fold_escalation(None, escalation_v2())
    assert record.is_open
    assert (record.team, record.broadcast_id, record.region) == ("trust-safety", "b1", "eu")
    assert record.paged
    assert record.evidence is not None
    assert record.evidence.series is not None
    assert [entry.moment for entry in record.timeline] == [Moment.TRIGGER]


def test_resolve_closes_it_and_keeps_the_last_chart() -> None:
    record = fold_escalation(None, escalation_v2())
    resolve = escalation_v2(action=EventAction.RESOLVE, sequence=2, at=T0 + timedelta(minutes=9))
    record = fold_escalation(record, resolve)
    assert not record.is_open
    assert record.resolution is Resolution.SPIKEWATCH
    assert record.resolved_at == T0 + timedelta(minutes=9)
    assert record.evidence is not None
    assert record.evidence.series is not None, "a resolve carries no series"
    assert record.severity is Severity.CRITICAL


def test_an_older_or_repeated_escalation_changes_nothing() -> None:
    record = fold_escalation(None, escalation_v2(sequence=2, severity=Severity.ERROR))
    before = record.model_copy(deep=True)
    fold_escalation(record, escalation_v2(sequence=1, severity=Severity.CRITICAL))
    fold_escalation(record, escalation_v2(sequence=2, severity=Severity.ERROR))
    assert record == before


def test_acknowledgement_before_the_escalation_is_kept_and_joined() -> None:
    record = fold_acknowledgement(None, acknowledgement())
    assert not record.is_open, "no escalation seen yet"
    record = fold_escalation(record, escalation_v2())
    assert record.is_open
    assert record.acknowledged_at == T0 + timedelta(seconds=90)
    assert [entry.moment for entry in record.timeline] == [Moment.TRIGGER, Moment.ACKNOWLEDGED]


def test_person_resolving_closes_and_a_redelivered_ack_is_recorded_once() -> None:
    record = fold_escalation(None, escalation_v2())
    resolved = acknowledgement(action=AckAction.RESOLVED, at=T0 + timedelta(minutes=3))
    fold_acknowledgement(record, resolved)
    fold_acknowledgement(record, resolved)
    assert record.resolution is Resolution.PERSON
    assert record.acknowledged_at == resolved.acted_at
    assert sum(entry.moment is Moment.RESOLVED for entry in record.timeline) == 1


def test_latest_verdict_wins_whatever_the_order_it_arrives_in() -> None:
    record = fold_escalation(None, escalation_v2())
    later = verdict(kind=VerdictKind.FALSE_ALARM, at=T0 + timedelta(minutes=8))
    fold_verdict(record, later)
    fold_verdict(record, verdict(kind=VerdictKind.CONFIRMED, at=T0 + timedelta(minutes=4)))
    assert record.verdict == later


def test_v1_escalation_reads_as_an_incident_without_series() -> None:
    v1 = escalation_v1("k1", team="t")
    record = fold_escalation(None, parse_escalation(v1.to_json_bytes()))
    assert record.is_open
    assert record.evidence is not None
    assert record.evidence.series is None


def test_record_round_trips_through_its_stored_bytes() -> None:
    record = fold_verdict(fold_escalation(None, escalation_v2()), verdict())
    assert IncidentRecord.from_bytes(record.to_bytes()) == record
