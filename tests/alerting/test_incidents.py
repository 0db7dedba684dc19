"""Tests for alerting/incidents.py: dedup keys, event ids and the lifecycle state machine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.incidents import (
    Incident,
    close_incident,
    dedup_key_for,
    event_id_for,
    on_active_signal,
    open_incident,
    resolve_due,
)
from alerting.policy import LifecyclePolicy
from models.escalation import EscalationClass, EventAction, Severity
from models.report import Category

OPENED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
QUIET = LifecyclePolicy(resolve_after_quiet_seconds=300, repeat_interval_seconds=0)


def new_incident(
    severity: Severity = Severity.ERROR,
    at: float = OPENED,
    opened_by: EscalationClass = EscalationClass.REPORT_SPIKE,
) -> Incident:
    return open_incident("b-1", "hate-harassment", [Category.HARASSMENT], opened_by, severity, at)


# --- dedup_key_for -----------------------------------------------------------------------


def test_dedup_key_is_stable_for_the_same_incident() -> None:
    first = dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000))
    again = dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000))
    assert first == again


def test_dedup_key_names_broadcast_and_team() -> None:
    key = dedup_key_for("broadcast-42", "child-safety", int((OPENED) * 1000))
    assert "broadcast-42" in key
    assert "child-safety" in key


def test_dedup_key_differs_per_broadcast_team_and_opening_time() -> None:
    keys = {
        dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000)),
        dedup_key_for("b-2", "hate-harassment", int((OPENED) * 1000)),
        dedup_key_for("b-1", "integrity", int((OPENED) * 1000)),
        dedup_key_for("b-1", "hate-harassment", int((OPENED + 1) * 1000)),
        dedup_key_for("b-1", "hate-harassment", int((OPENED + 0.001) * 1000)),
    }
    assert len(keys) == 5


def test_dedup_key_survives_a_json_round_trip_of_the_opening_time() -> None:
    opened = OPENED + 0.123
    restored = orjson.loads(orjson.dumps(opened))
    assert dedup_key_for("b", "integrity", int((restored) * 1000)) == dedup_key_for(
        "b", "integrity", int((opened) * 1000)
    )


# --- event_id_for ------------------------------------------------------------------------


def test_event_id_is_deterministic() -> None:
    key = dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000))
    assert event_id_for(key, 3) == event_id_for(key, 3)


def test_event_id_is_a_name_based_uuid() -> None:
    parsed = uuid.UUID(event_id_for("spikewatch:b:spam:1", 1))
    assert parsed.version == 5


def test_event_id_is_distinct_per_sequence_and_per_incident() -> None:
    first = dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000))
    second = dedup_key_for("b-1", "hate-harassment", int((OPENED + 60) * 1000))
    ids = [event_id_for(key, sequence) for key in (first, second) for sequence in range(1, 101)]
    assert len(set(ids)) == len(ids)


@settings(max_examples=200, deadline=None)
@given(key=st.text(min_size=1, max_size=80), sequence=st.integers(min_value=1, max_value=10**6))
def test_event_id_depends_only_on_key_and_sequence(key: str, sequence: int) -> None:
    assert event_id_for(key, sequence) == event_id_for(key, sequence)
    assert event_id_for(key, sequence) != event_id_for(key, sequence + 1)


# --- lifecycle -----------------------------------------------------------------------------


def test_open_incident_starts_at_sequence_one() -> None:
    incident = new_incident()
    assert incident.sequence == 1
    assert incident.opened_at == incident.last_active_at == incident.last_sent_at == OPENED
    assert incident.dedup_key == dedup_key_for("b-1", "hate-harassment", int((OPENED) * 1000))


def test_sustain_keeps_incident_active_without_sending() -> None:
    incident = new_incident()
    assert on_active_signal(incident, None, OPENED + 100, QUIET) is None
    assert incident.last_active_at == OPENED + 100
    assert incident.sequence == 1


def test_fire_at_same_severity_sends_nothing() -> None:
    incident = new_incident(Severity.ERROR)
    assert on_active_signal(incident, Severity.ERROR, OPENED + 10, QUIET) is None
    assert incident.sequence == 1


def test_fire_at_higher_severity_sends_one_update() -> None:
    incident = new_incident(Severity.ERROR)
    assert on_active_signal(incident, Severity.CRITICAL, OPENED + 10, QUIET) is EventAction.UPDATE
    assert incident.severity is Severity.CRITICAL
    assert incident.sequence == 2
    assert incident.last_sent_at == OPENED + 10
    assert on_active_signal(incident, Severity.CRITICAL, OPENED + 20, QUIET) is None
    assert incident.sequence == 2


def test_fire_at_lower_severity_does_not_lower_the_incident() -> None:
    incident = new_incident(Severity.CRITICAL)
    assert on_active_signal(incident, Severity.WARNING, OPENED + 10, QUIET) is None
    assert incident.severity is Severity.CRITICAL


def test_repeat_interval_sends_an_update_once_it_has_passed() -> None:
    repeating = LifecyclePolicy(resolve_after_quiet_seconds=300, repeat_interval_seconds=60)
    incident = new_incident()
    assert on_active_signal(incident, None, OPENED + 59, repeating) is None
    assert on_active_signal(incident, None, OPENED + 60, repeating) is EventAction.UPDATE
    assert incident.sequence == 2
    assert on_active_signal(incident, None, OPENED + 119, repeating) is None
    assert on_active_signal(incident, None, OPENED + 120, repeating) is EventAction.UPDATE
    assert incident.sequence == 3


def test_zero_repeat_interval_never_repeats() -> None:
    incident = new_incident()
    assert on_active_signal(incident, None, OPENED + 86_400, QUIET) is None


def test_active_signal_out_of_order_never_moves_last_active_backwards() -> None:
    incident = new_incident()
    on_active_signal(incident, None, OPENED + 100, QUIET)
    on_active_signal(incident, None, OPENED + 40, QUIET)
    assert incident.last_active_at == OPENED + 100


def test_resolve_is_due_only_after_the_quiet_period() -> None:
    incident = new_incident()
    on_active_signal(incident, None, OPENED + 50, QUIET)
    assert not resolve_due(incident, OPENED + 50 + 299.5, QUIET)
    assert resolve_due(incident, OPENED + 50 + 300, QUIET)


def test_close_incident_advances_the_sequence() -> None:
    incident = new_incident()
    close_incident(incident, OPENED + 400)
    assert incident.sequence == 2
    assert incident.last_sent_at == OPENED + 400


@pytest.mark.parametrize("severity", list(Severity))
def test_incident_plain_round_trip_through_json(severity: Severity) -> None:
    incident = new_incident(severity)
    on_active_signal(incident, None, OPENED + 12.5, QUIET)
    restored = Incident.from_plain(orjson.loads(orjson.dumps(incident.to_plain())))
    assert restored == incident
    assert restored.category is Category.HARASSMENT
    assert restored.severity is severity


def test_a_category_joining_sends_one_update_and_is_listed() -> None:
    incident = new_incident()

    joined = on_active_signal(
        incident, Severity.ERROR, OPENED + 5, QUIET, (Category.HATEFUL_CONDUCT,)
    )
    again = on_active_signal(
        incident, Severity.ERROR, OPENED + 6, QUIET, (Category.HATEFUL_CONDUCT,)
    )

    assert joined is EventAction.UPDATE
    assert again is None
    assert incident.categories == [Category.HARASSMENT, Category.HATEFUL_CONDUCT]
    assert incident.category is Category.HARASSMENT
    assert incident.sequence == 2


def test_a_raised_severity_makes_its_category_lead() -> None:
    incident = new_incident()

    on_active_signal(incident, Severity.CRITICAL, OPENED + 5, QUIET, (Category.CHILD_SAFETY,))

    assert incident.category is Category.CHILD_SAFETY
    assert incident.severity is Severity.CRITICAL


def test_incident_of_a_format_without_team_reads_its_one_category() -> None:
    plain = new_incident().to_plain()
    del plain["team"], plain["categories"], plain["classes"]

    restored = Incident.from_plain(plain)

    assert restored.team == ""
    assert restored.categories == [Category.HARASSMENT]
    assert restored.classes == [EscalationClass.REPORT_SPIKE]


@pytest.mark.parametrize("plainer", [EscalationClass.REPORT_SPIKE, EscalationClass.CRITICAL_REPORT])
def test_a_spike_or_credible_report_on_a_ramps_incident_sends_one_update(
    plainer: EscalationClass,
) -> None:
    """A ramp's incident may have been looked at and let be; when the abuse becomes plain
    in the same category at the same severity, on-call hears of it once."""
    incident = new_incident(opened_by=EscalationClass.REPORT_RAMP)
    ramp = (EscalationClass.REPORT_RAMP,)
    assert on_active_signal(incident, Severity.ERROR, OPENED + 5, QUIET, (), ramp) is None

    first = on_active_signal(incident, Severity.ERROR, OPENED + 6, QUIET, (), (plainer,))
    again = on_active_signal(incident, Severity.ERROR, OPENED + 7, QUIET, (), (plainer,))

    assert (first, again) == (EventAction.UPDATE, None)
    assert incident.classes == [EscalationClass.REPORT_RAMP, plainer]
    assert incident.sequence == 2
    assert incident.escalation_class is EscalationClass.REPORT_RAMP, "what opened it"


@pytest.mark.parametrize(
    ("opened_by", "fired"),
    [
        (EscalationClass.REPORT_SPIKE, EscalationClass.REPORT_RAMP),
        (EscalationClass.CRITICAL_REPORT, EscalationClass.REPORT_SPIKE),
        (EscalationClass.REPORT_SPIKE, EscalationClass.CRITICAL_REPORT),
    ],
)
def test_another_kind_of_evidence_on_a_plain_incident_sends_nothing(
    opened_by: EscalationClass, fired: EscalationClass
) -> None:
    incident = new_incident(opened_by=opened_by)
    assert on_active_signal(incident, Severity.ERROR, OPENED + 5, QUIET, (), (fired,)) is None
    assert incident.classes == [opened_by]


def test_the_kinds_of_evidence_survive_the_round_trip() -> None:
    incident = new_incident(opened_by=EscalationClass.REPORT_RAMP)
    on_active_signal(
        incident, Severity.ERROR, OPENED + 5, QUIET, (), (EscalationClass.REPORT_SPIKE,)
    )
    restored = Incident.from_plain(orjson.loads(orjson.dumps(incident.to_plain())))
    assert restored.classes == [EscalationClass.REPORT_RAMP, EscalationClass.REPORT_SPIKE]
