"""Request bodies of the stateless sinks (PagerDuty, Slack), and what every sink shows.

Every body is built from the escalation alone, keyed by its ``dedup_key``, so a
re-delivered event (after a crash, before its offset was committed) updates the
same PagerDuty alert, and never opens a second one.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2

PAGERDUTY_DEDUP_KEY_LIMIT = 255
PAGERDUTY_SUMMARY_LIMIT = 1024
SLACK_TEXT_LIMIT = 3000
"""A section block's text is cut by Slack beyond this many characters."""

_ACTION_WORDS = {
    EventAction.TRIGGER: "New incident",
    EventAction.UPDATE: "Incident updated",
    EventAction.RESOLVE: "Resolved",
}
_SEVERITY_MARKS = {
    Severity.CRITICAL: ":red_circle:",
    Severity.ERROR: ":large_orange_circle:",
    Severity.WARNING: ":large_yellow_circle:",
    Severity.INFO: ":large_blue_circle:",
}


def incident_url(template: str | None, escalation: EscalationV2) -> str | None:
    """The configured link to the incident, its fields URL-quoted; None without a template."""
    if template is None:
        return None
    fields = {
        "dedup_key": escalation.dedup_key,
        "broadcast_id": escalation.labels.broadcast_id,
        "team": escalation.labels.team,
    }
    return template.format(
        **{key: urllib.parse.quote(value, safe="") for key, value in fields.items()}
    )


def evidence_in_short(escalation: EscalationV2) -> str:
    """One line of the figures that made the decision; no reporter data."""
    evidence = escalation.evidence
    viewers = "unknown audience" if evidence.viewers is None else f"{evidence.viewers:,} viewers"
    mix = evidence.trust_mix
    categories = ", ".join(
        f"{item.category.value} {item.distinct_reporters}" for item in evidence.categories
    )
    return (
        f"{evidence.distinct_reporters} distinct reporters "
        f"({evidence.weighted_reporters:.1f} weighted by trust) against "
        f"{evidence.expected_reports:.1f} reports expected; {viewers}; "
        f"trusted {mix.trusted:.0%}, suspect {mix.suspect:.0%}, "
        f"coordinated {evidence.coordinated_share:.0%}; by category: {categories}"
    )


def custom_details(escalation: EscalationV2) -> dict[str, Any]:
    """The evidence as plain JSON, without the chart series (the console draws those)."""
    details: dict[str, Any] = escalation.evidence.model_dump(mode="json", exclude={"series"})
    details["policy_version"] = escalation.policy_version
    details["sequence"] = escalation.sequence
    if escalation.related:
        details["related"] = list(escalation.related)
    return details


def links(escalation: EscalationV2, url: str | None) -> list[dict[str, str]]:
    found = []
    if url is not None:
        found.append({"href": url, "text": "Incident in spikewatch"})
    if escalation.runbook_url is not None:
        found.append({"href": escalation.runbook_url, "text": "Runbook"})
    return found


def pagerduty_event(escalation: EscalationV2, routing_key: str, url: str | None) -> dict[str, Any]:
    """An Events API v2 event: an update is a trigger on the same ``dedup_key``.

    PagerDuty folds a trigger with a known ``dedup_key`` into the open alert, which
    is how it learns a raised severity; a resolve closes it.
    """
    labels = escalation.labels
    action = "resolve" if escalation.event_action is EventAction.RESOLVE else "trigger"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": escalation.dedup_key,
    }
    if action == "resolve":
        return event
    event["payload"] = {
        "summary": escalation.summary[:PAGERDUTY_SUMMARY_LIMIT],
        "source": f"broadcast {labels.broadcast_id}",
        "severity": escalation.severity.value,
        "timestamp": escalation.detected_at.isoformat(),
        "component": labels.category.value,
        "group": labels.team,
        "class": escalation.escalation_class.value,
        "custom_details": custom_details(escalation),
    }
    event["client"] = "spikewatch"
    if url is not None:
        event["client_url"] = url
    found = links(escalation, url)
    if found:
        event["links"] = found
    return event


def slack_message(escalation: EscalationV2, url: str | None) -> dict[str, Any]:
    """Incoming-webhook JSON with blocks; ``text`` is the notification and fallback line.

    Incoming webhooks cannot reply in a thread (that needs the Web API's
    ``thread_ts``), so every event is its own message naming the incident.
    """
    labels = escalation.labels
    action = escalation.event_action
    mark = (
        ":white_check_mark:"
        if action is EventAction.RESOLVE
        else _SEVERITY_MARKS[escalation.severity]
    )
    headline = (
        f"{mark} {_ACTION_WORDS[action]}: {escalation.severity.value} "
        f"{escalation.escalation_class.value} on broadcast {labels.broadcast_id} "
        f"({labels.category.value}, team {labels.team})"
    )
    facts = [
        f"*Team*\n{labels.team}",
        f"*Severity*\n{escalation.severity.value}",
        f"*Leading category*\n{labels.category.value}",
        f"*Broadcast*\n{labels.broadcast_id}",
    ]
    if labels.platform is not None:
        facts.append(f"*Platform*\n{labels.platform.value}")
    if labels.region is not None:
        facts.append(f"*Region*\n{labels.region}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline[:SLACK_TEXT_LIMIT]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": fact} for fact in facts]},
    ]
    if action is not EventAction.RESOLVE:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{escalation.summary}\n{evidence_in_short(escalation)}"[
                        :SLACK_TEXT_LIMIT
                    ],
                },
            }
        )
    context = [f"incident `{escalation.dedup_key}` event {escalation.sequence}"]
    context.extend(f"<{link['href']}|{link['text']}>" for link in links(escalation, url))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    return {"text": headline, "blocks": blocks}
