"""Coordinated reporting: its own class, team and severity; abuse wins on the same broadcast."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerting.engine import DetectionEngine
from alerting.policy import Policy, PolicyError, load_policy
from alerting.state import BroadcastState
from models.escalation import EscalationClass, EventAction, Severity
from models.escalation_v2 import EscalationV2
from models.report import ReportEvent
from tests.alerting.helpers import HIGH_TRUST, T0, burst, resolve_wait
from tests.alerting.test_policy import default_document

CAMPAIGN = {"account_age_days": 1, "trust": 0.02, "trusted_flagger": False, "was_viewing": False}


def observe_all(
    engine: DetectionEngine, state: BroadcastState, reports: list[ReportEvent]
) -> list[EscalationV2]:
    return [e for report in reports for e in engine.observe(state, report).escalations]


def test_synchronised_burst_of_suspect_accounts_is_classed_coordinated_and_does_not_page(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    sent = observe_all(engine, state, burst(25, spacing=2.0, reporter=CAMPAIGN))
    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    trigger = sent[0]
    assert trigger.escalation_class is EscalationClass.COORDINATED_REPORTING
    assert trigger.severity is Severity.WARNING
    assert not trigger.severity.pages
    assert trigger.labels.team == policy.coordination.team
    assert ":coordinated_reporting:" in trigger.dedup_key
    assert [r.rule for r in trigger.evidence.rules] == ["coordinated_reporting:all_categories"]
    assert trigger.evidence.rules[0].figures["suspect_reporters"] == (
        policy.coordination.min_suspect_reporters
    )
    assert state.incidents == {}


def test_a_few_suspect_reporters_are_not_a_campaign(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    assert observe_all(engine, state, burst(7, reporter=CAMPAIGN)) == []


def test_abuse_surge_on_a_brigaded_broadcast_wins_and_supersedes_the_campaign(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    campaign = observe_all(engine, state, burst(20, reporter=CAMPAIGN, prefix="bot"))
    assert [e.escalation_class for e in campaign] == [EscalationClass.COORDINATED_REPORTING]
    surge = observe_all(
        engine, state, burst(6, start=T0 + 30, reporter=HIGH_TRUST, prefix="viewer")
    )
    actions = [(e.event_action, e.escalation_class) for e in surge]
    assert actions == [
        (EventAction.TRIGGER, EscalationClass.REPORT_SPIKE),
        (EventAction.RESOLVE, EscalationClass.COORDINATED_REPORTING),
    ]
    resolve = surge[1]
    assert resolve.dedup_key == campaign[0].dedup_key
    assert resolve.evidence.rules[0].rule == "abuse_incident_wins"
    assert surge[0].dedup_key in resolve.evidence.rules[0].reason
    assert state.coordination == {}
    more = observe_all(engine, state, burst(20, start=T0 + 60, reporter=CAMPAIGN, prefix="bot2"))
    assert more == []


def test_coordination_incident_resolves_after_the_quiet_period(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    observe_all(engine, state, burst(20, reporter=CAMPAIGN))
    quiet = resolve_wait(policy)
    assert engine.tick(state, T0 + 19 + quiet - 1).escalations == []
    resolved = engine.tick(state, T0 + 19 + quiet).escalations
    assert [e.event_action for e in resolved] == [EventAction.RESOLVE]
    assert state.is_idle or state.coordination == {}


def test_coordination_survives_the_state_round_trip(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    observe_all(engine, state, burst(20, reporter=CAMPAIGN))
    restored = BroadcastState.from_bytes(state.to_bytes())
    assert restored.coordination == state.coordination
    assert restored.last_coordination_key_ms == state.last_coordination_key_ms
    assert "integrity-coordination" in restored.coordination


def test_a_paging_coordination_severity_is_refused_naming_the_field(tmp_path: Path) -> None:
    document = default_document()
    document["coordination"]["severity"] = "error"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert "coordination" in str(error.value)
    assert "\n" not in str(error.value)
