"""The on-call timeline of one incident: KPI facts from escalations and acknowledgements."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from alerting.policy import OncallPolicy
from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2
from oncall.timelines import (
    IncidentTimeline,
    Resolver,
    awaiting_acknowledgement,
    check_sla,
    forgettable,
    on_acknowledgement,
    on_escalation,
)
from tests.support.escalations import escalation as make_escalation

T0 = 1_800_000_000.0
KEY = f"spikewatch:b:1:harassment:{int(T0 * 1000)}"
POLICY = OncallPolicy(ack_sla_seconds={Severity.CRITICAL: 60.0})


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def escalation(
    action: EventAction, at: float, severity: Severity = Severity.CRITICAL
) -> EscalationV2:
    return make_escalation(KEY, action, severity, at=at, broadcast_id="b:1")


def ack(action: AckAction, at: float, actor: Actor = Actor.HUMAN) -> Acknowledgement:
    return Acknowledgement(
        schema_version=1, dedup_key=KEY, action=action, actor=actor, acted_at=utc(at)
    )


def fresh() -> IncidentTimeline:
    return IncidentTimeline(dedup_key=KEY, first_seen_at=T0)


def test_trigger_is_incoming_once_and_a_person_resolving_gives_tta_and_handle_time() -> None:
    timeline = fresh()
    assert on_escalation(timeline, escalation(EventAction.TRIGGER, T0)).incoming
    assert not on_escalation(timeline, escalation(EventAction.TRIGGER, T0 + 1)).incoming
    acked = on_acknowledgement(timeline, ack(AckAction.ACKNOWLEDGED, T0 + 40))
    assert acked.time_to_acknowledge == 40
    assert not acked.unknown_incident
    solved = on_acknowledgement(timeline, ack(AckAction.RESOLVED, T0 + 100))
    assert solved.solved_by is Resolver.PERSON
    assert solved.handle_time == 60
    assert solved.time_to_acknowledge is None
    later = on_escalation(timeline, escalation(EventAction.RESOLVE, T0 + 400))
    assert later.solved_by is None, "an incident is solved once, by whoever came first"


def test_quiet_timer_and_tool_resolutions_have_no_handle_time() -> None:
    quiet = fresh()
    on_escalation(quiet, escalation(EventAction.TRIGGER, T0))
    facts = on_escalation(quiet, escalation(EventAction.RESOLVE, T0 + 300))
    assert facts.solved_by is Resolver.QUIET_TIMER
    assert facts.handle_time is None

    tool = fresh()
    on_escalation(tool, escalation(EventAction.TRIGGER, T0))
    facts = on_acknowledgement(tool, ack(AckAction.RESOLVED, T0 + 30, Actor.TOOL))
    assert facts.solved_by is Resolver.TOOL
    assert facts.handle_time is None
    assert facts.time_to_acknowledge == 30, "a resolution acknowledges too"


def test_acknowledgement_before_its_trigger_is_unknown_then_completes_when_it_arrives() -> None:
    timeline = fresh()
    early = on_acknowledgement(timeline, ack(AckAction.ACKNOWLEDGED, T0 + 5))
    assert early.unknown_incident
    assert early.time_to_acknowledge is None
    facts = on_escalation(timeline, escalation(EventAction.TRIGGER, T0))
    assert facts.incoming
    assert facts.time_to_acknowledge == 5


def test_sla_breach_counts_once_when_time_runs_out_and_stops_at_ack_or_resolve() -> None:
    late = fresh()
    on_escalation(late, escalation(EventAction.TRIGGER, T0))
    assert awaiting_acknowledgement(late)
    assert not check_sla(late, T0 + 59, POLICY)
    assert check_sla(late, T0 + 61, POLICY)
    assert not check_sla(late, T0 + 120, POLICY)

    in_time = fresh()
    on_escalation(in_time, escalation(EventAction.TRIGGER, T0))
    on_acknowledgement(in_time, ack(AckAction.ACKNOWLEDGED, T0 + 30))
    assert not awaiting_acknowledgement(in_time)
    assert not check_sla(in_time, T0 + 1000, POLICY)

    no_sla = fresh()
    on_escalation(no_sla, escalation(EventAction.TRIGGER, T0, Severity.WARNING))
    assert not check_sla(no_sla, T0 + 10_000, POLICY)


def test_an_incident_raised_to_a_page_is_timed_from_the_raise_not_from_its_warning() -> None:
    raised = fresh()
    opened = on_escalation(raised, escalation(EventAction.TRIGGER, T0, Severity.WARNING))
    assert opened.incoming
    assert not opened.raised_to_page
    assert not on_escalation(
        raised, escalation(EventAction.UPDATE, T0 + 600, Severity.WARNING)
    ).raised_to_page
    paged = on_escalation(raised, escalation(EventAction.UPDATE, T0 + 1200))
    assert paged.raised_to_page
    assert not check_sla(raised, T0 + 1250, POLICY), "the page went out 50 s ago"
    assert check_sla(raised, T0 + 1261, POLICY)
    assert (
        on_acknowledgement(raised, ack(AckAction.ACKNOWLEDGED, T0 + 1290)).time_to_acknowledge == 90
    )
    again = on_escalation(raised, escalation(EventAction.UPDATE, T0 + 1300, Severity.ERROR))
    assert not again.raised_to_page, "raised once"

    paged_at_once = fresh()
    on_escalation(paged_at_once, escalation(EventAction.TRIGGER, T0))
    assert not on_escalation(paged_at_once, escalation(EventAction.UPDATE, T0 + 60)).raised_to_page


def test_a_warning_acknowledged_before_its_raise_counts_from_its_trigger_and_has_no_breach() -> (
    None
):
    timeline = fresh()
    on_escalation(timeline, escalation(EventAction.TRIGGER, T0, Severity.WARNING))
    assert (
        on_acknowledgement(timeline, ack(AckAction.ACKNOWLEDGED, T0 + 100)).time_to_acknowledge
        == 100
    )
    assert on_escalation(timeline, escalation(EventAction.UPDATE, T0 + 1200)).raised_to_page
    assert not check_sla(timeline, T0 + 5000, POLICY)


def test_a_timeline_stored_before_paged_at_counts_from_its_trigger_if_it_paged() -> None:
    def stored(severity: Severity) -> bytes:
        timeline = fresh()
        on_escalation(timeline, escalation(EventAction.TRIGGER, T0, severity))
        plain = orjson.loads(timeline.to_bytes())
        del plain["paged_at"]
        return orjson.dumps({**plain, "v": 1})

    assert IncidentTimeline.from_bytes(stored(Severity.CRITICAL)).paged_at == T0
    acknowledged_first = IncidentTimeline(dedup_key=KEY, first_seen_at=T0)
    assert IncidentTimeline.from_bytes(acknowledged_first.to_bytes()) == acknowledged_first
    assert IncidentTimeline.from_bytes(stored(Severity.WARNING)).paged_at is None
    with pytest.raises(ValueError, match="unknown incident timeline format"):
        IncidentTimeline.from_bytes(orjson.dumps({"v": 99}))


def test_timeline_round_trips_and_names_its_broadcast_even_with_colons() -> None:
    timeline = fresh()
    on_escalation(timeline, escalation(EventAction.TRIGGER, T0))
    on_acknowledgement(timeline, ack(AckAction.RESOLVED, T0 + 9))
    assert IncidentTimeline.from_bytes(timeline.to_bytes()) == timeline
    assert timeline.broadcast_id == "b:1"
    assert IncidentTimeline(dedup_key="pd-123", first_seen_at=T0).broadcast_id == ""


def test_timelines_are_forgotten_after_resolution_or_when_never_resolved() -> None:
    policy = OncallPolicy(keep_resolved_seconds=100, keep_open_seconds=1000)
    timeline = fresh()
    on_escalation(timeline, escalation(EventAction.TRIGGER, T0))
    assert not forgettable(timeline, T0 + 999, policy)
    assert forgettable(timeline, T0 + 1000, policy)
    on_escalation(timeline, escalation(EventAction.RESOLVE, T0 + 10))
    assert not forgettable(timeline, T0 + 109, policy)
    assert forgettable(timeline, T0 + 110, policy)
