"""Request bodies: PagerDuty Events v2, Slack blocks, Alertmanager alerts, case-tool templates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.escalation import EscalationLabels, EventAction, Severity
from models.report import Category, Platform
from oncall.delivery.alertmanager import OpenAlerts
from oncall.delivery.payloads import incident_url, pagerduty_event, slack_message
from oncall.delivery.templates import RequestTemplate, TemplateRenderError
from tests.models.test_escalation_v2 import END, escalation
from tests.support.pagerduty import validation_errors

TEMPLATES = Path(__file__).resolve().parents[3] / "deploy" / "notify" / "templates"
KEY = "0123456789abcdef0123456789abcdef"
URL = "https://console.example/incidents/spikewatch%3Ab-1%3Atrust-safety%3A1"
LABELS = EscalationLabels(
    broadcast_id="b-1",
    broadcaster_id="u-9",
    category=Category.HARASSMENT,
    team="t",
    platform=Platform.PERISCOPE,
    region="eu",
)


def test_incident_url_quotes_its_fields() -> None:
    url = incident_url("https://console.example/incidents/{dedup_key}", escalation())
    assert url == URL
    assert incident_url(None, escalation()) is None


@pytest.mark.parametrize("action", list(EventAction))
def test_pagerduty_events_pass_the_documented_validation(action: EventAction) -> None:
    event = pagerduty_event(
        escalation(event_action=action, runbook_url="https://runbooks/harassment", labels=LABELS),
        KEY,
        URL,
    )
    assert validation_errors(event) == []
    assert event["dedup_key"] == "spikewatch:b-1:trust-safety:1"
    assert event["event_action"] == ("resolve" if action is EventAction.RESOLVE else "trigger")


def test_a_pagerduty_trigger_carries_the_evidence_and_links() -> None:
    event = pagerduty_event(
        escalation(runbook_url="https://runbooks/harassment", labels=LABELS), KEY, URL
    )
    payload = event["payload"]
    assert payload["severity"] == "error"
    assert payload["class"] == "report_spike"
    assert payload["component"] == "harassment"
    assert payload["group"] == "t"
    assert payload["custom_details"]["distinct_reporters"] == 9
    assert "series" not in payload["custom_details"]
    assert [link["href"] for link in event["links"]] == [URL, "https://runbooks/harassment"]


def test_a_long_summary_is_cut_to_what_pagerduty_takes() -> None:
    event = pagerduty_event(escalation(summary="x" * 1024), KEY, None)
    assert validation_errors(event) == []
    assert "links" not in event


def test_slack_messages_say_what_happened_without_reporter_data() -> None:
    trigger = slack_message(escalation(labels=LABELS, severity=Severity.CRITICAL), URL)
    assert trigger["text"].startswith(":red_circle: New incident: critical report_spike")
    text = json.dumps(trigger)
    assert "9 distinct reporters" in text
    assert "r-1" not in text  # sample report ids stay out of chat
    assert f"<{URL}|Incident in spikewatch>" in text
    resolve = slack_message(escalation(event_action=EventAction.RESOLVE, sequence=3), None)
    assert resolve["text"].startswith(":white_check_mark: Resolved")
    assert "event 3" in json.dumps(resolve)


def test_an_open_alert_ends_a_horizon_ahead_and_is_reposted_until_resolved() -> None:
    alerts = OpenAlerts(timedelta(hours=1))
    now = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)
    [posted] = alerts.on_escalation(escalation(labels=LABELS), URL, now)
    assert posted["labels"] == {
        "alertname": "report_spike",
        "team": "t",
        "severity": "error",
        "broadcast_id": "b-1",
        "broadcaster_id": "u-9",
        "category": "harassment",
        "platform": "periscope",
        "region": "eu",
        "source": "spikewatch",
    }
    assert posted["startsAt"] == END.isoformat()
    assert posted["endsAt"] == (now + timedelta(hours=1)).isoformat()
    assert posted["annotations"]["dedup_key"] == "spikewatch:b-1:trust-safety:1"
    assert posted["annotations"]["incident_url"] == URL
    later = now + timedelta(minutes=5)
    [again] = alerts.repost(later)
    assert again["endsAt"] == (later + timedelta(hours=1)).isoformat()
    ended = END + timedelta(minutes=9)
    [resolved] = alerts.on_escalation(
        escalation(event_action=EventAction.RESOLVE, sequence=2, ends_at=ended, labels=LABELS),
        URL,
        later,
    )
    assert resolved["endsAt"] == ended.isoformat()
    assert alerts.repost(later) == []


def test_a_severity_change_ends_the_previous_alert_so_one_incident_shows_once() -> None:
    alerts = OpenAlerts(timedelta(hours=1))
    now = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)
    alerts.on_escalation(escalation(), None, now)
    raised, previous = alerts.on_escalation(
        escalation(event_action=EventAction.UPDATE, sequence=2, severity=Severity.CRITICAL),
        None,
        now,
    )
    assert raised["labels"]["severity"] == "critical"
    assert previous["labels"]["severity"] == "error"
    assert previous["endsAt"] == now.isoformat()
    assert len(alerts) == 1


def test_incidents_of_partitions_moved_elsewhere_are_no_longer_reposted() -> None:
    alerts = OpenAlerts(timedelta(hours=1))
    now = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)
    alerts.on_escalation(escalation(dedup_key="kept"), None, now, ("oncall.t", 0))
    alerts.on_escalation(escalation(dedup_key="moved"), None, now, ("oncall.t", 1))
    alerts.keep_only({("oncall.t", 0), ("oncall.u", 3)})
    [kept] = alerts.repost(now)
    assert kept["annotations"]["dedup_key"] == "kept"


def render(name: str, url: str, **changes: object) -> dict[str, object]:
    template = RequestTemplate(url, (TEMPLATES / name).read_text())
    rendered = template.render(escalation(**changes), URL)
    body: dict[str, object] = json.loads(rendered.body)
    body["_url"] = rendered.url
    return body


def test_the_jira_automation_template_keys_the_issue_by_dedup_key() -> None:
    body = render("jira-automation.json.j2", "https://automation.example/hook", summary='say "hi"')
    assert body["dedup_key"] == "spikewatch:b-1:trust-safety:1"
    assert body["action"] == "trigger"
    assert body["priority"] == "High"
    assert body["summary"] == '[spikewatch] say "hi"'
    assert URL in str(body["description"])


def test_the_service_cloud_template_upserts_one_case_per_incident() -> None:
    url = (
        "https://x.my.salesforce.com/sobjects/Case/Spikewatch_Dedup_Key__c/"
        "{{ dedup_key | urlencode }}"
    )
    opened = render("servicecloud-case.json.j2", url)
    assert str(opened["_url"]).endswith(
        "/Spikewatch_Dedup_Key__c/spikewatch%3Ab-1%3Atrust-safety%3A1"
    )
    assert opened["Status"] == "New"
    updated = render("servicecloud-case.json.j2", url, event_action=EventAction.UPDATE, sequence=2)
    assert "Status" not in updated
    closed = render("servicecloud-case.json.j2", url, event_action=EventAction.RESOLVE, sequence=3)
    assert closed["Status"] == "Closed"


def test_templates_run_sandboxed_and_fail_loudly() -> None:
    with pytest.raises(TemplateRenderError, match=r"unsafe|access"):
        RequestTemplate("https://x", "{{ escalation.__class__.__mro__ }}").render(
            escalation(), None
        )
    with pytest.raises(TemplateRenderError, match="ndefined"):
        RequestTemplate("https://x", '{"a": {{ nothing | tojson }}}').render(escalation(), None)
    with pytest.raises(TemplateRenderError, match="URL"):
        RequestTemplate("{{ team }}", "{}").render(escalation(), None)
    with pytest.raises(TemplateRenderError, match="not JSON"):
        RequestTemplate("https://x", "{{ dedup_key }}").render(escalation(), None)
