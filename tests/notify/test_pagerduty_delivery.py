"""``spikewatch notify`` against a PagerDuty stand-in and webhook receivers, on the real broker.

The stand-in implements the Events API v2 contract (validation, 202/400/429/5xx);
the service is driven through an outage and a rate limit and must lose nothing,
reorder nothing, page each incident once, wait out every ``Retry-After``, and
dead-letter what PagerDuty refuses for good with PagerDuty's answer.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from models.delivery_failure import DeliveryFailure, FailureReason
from models.escalation import EventAction
from tests.support.kafka import read_until, send_all
from tests.support.monitoring import wait_for
from tests.support.notify import (
    create_topics,
    incident,
    metric,
    notify_settings,
    running_notify,
    send_escalations,
    wait_for_delivery,
    web_url,
    write_sinks,
)
from tests.support.pagerduty import PagerDutyStandIn, pagerduty_stand_in, signed_webhook
from tests.support.webhook_recorder import webhook_recorder

pytestmark = pytest.mark.kafka
TEMPLATES = Path(__file__).resolve().parents[2] / "deploy" / "notify" / "templates"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
SIGNING_SECRET = "webhook-signing-secret"


def pagerduty_sinks(tmp_path: Path, stand_in: PagerDutyStandIn) -> dict[str, object]:
    return {
        "version": 1,
        "incident_url_template": "https://console.example/incidents/{dedup_key}",
        "sinks": [
            {
                "name": "pagerduty",
                "type": "pagerduty",
                "url": stand_in.url,
                "routes": {"t": {"routing_key_env": "PD_KEY"}},
                "retry": {
                    "initial_backoff_seconds": 0.05,
                    "max_backoff_seconds": 0.5,
                    "request_timeout_seconds": 5,
                    "down_after_failures": 2,
                },
            }
        ],
        "acks": {"pagerduty_signing_secret_env": "PD_SECRET"},
    }


ENVIRON = {"PD_KEY": ROUTING_KEY, "PD_SECRET": SIGNING_SECRET}


def actions_by_incident(stand_in: PagerDutyStandIn) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in stand_in.accepted_events():
        found.setdefault(event["dedup_key"], []).append(event["event_action"])
    return found


async def test_outages_and_rate_limits_lose_nothing_and_reorder_nothing(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = notify_settings(bootstrap)
    await create_topics(bootstrap, [settings.oncall_topic("t"), settings.oncall_topic("other")])
    incidents = [incident(f"b-{number}", updates=1) for number in range(24)]
    shadow = incident("b-shadow", shadow=True)
    elsewhere = incident("b-elsewhere", team="other")
    refused = incident("b-" + "x" * 300, resolve=False)  # dedup_key over PagerDuty's 255
    with pagerduty_stand_in() as stand_in:
        config = write_sinks(tmp_path, pagerduty_sinks(tmp_path, stand_in), ENVIRON)
        async with running_notify(settings, config, teams=("t", "other")):
            stand_in.outage(503)
            await send_escalations(
                settings, [event for events in incidents[:12] for event in events]
            )
            await asyncio.to_thread(
                wait_for, lambda: stand_in.answers.get(503, 0) >= 8, 30, "retries during the outage"
            )
            assert await metric(settings, "spikewatch_notify_sink_up", sink="pagerduty") == 0
            stand_in.recover()
            stand_in.rate_limit(6, retry_after=1)
            await send_escalations(
                settings,
                [event for events in incidents[12:] for event in events] + shadow + elsewhere,
            )
            await send_escalations(settings, refused)
            await send_all(bootstrap, settings.oncall_topic("t"), [(b"junk", b"not json")])
            expected = {
                events[0].dedup_key: ["trigger", "trigger", "resolve"] for events in incidents
            }
            await wait_for_delivery(
                settings,
                lambda: all(
                    actions_by_incident(stand_in).get(key) == actions
                    for key, actions in expected.items()
                ),
                90,
                "every event of every incident accepted, in order",
            )
            await send_escalations(settings, [incidents[0][0]])  # re-emitted after its resolve

            async def stale_skipped() -> float:
                return await metric(
                    settings, "spikewatch_notify_deliveries_total", outcome="skipped_stale"
                )

            for _ in range(100):
                if await stale_skipped() >= 1:
                    break
                await asyncio.sleep(0.2)
            stale = await stale_skipped()
            dead = await read_until(
                bootstrap,
                [settings.notify_dead_letter_topic],
                done=lambda records: len(records) >= 2,
                within=30,
            )
            assert await metric(settings, "spikewatch_notify_sink_up", sink="pagerduty") == 1
            delivered = await metric(
                settings,
                "spikewatch_notify_deliveries_total",
                sink="pagerduty",
                outcome="delivered",
            )
            rate_limited = await metric(
                settings, "spikewatch_notify_retries_total", reason="rate_limited"
            )
            server_errors = await metric(
                settings, "spikewatch_notify_retries_total", reason="server_error"
            )
            shadow_skips = await metric(
                settings, "spikewatch_notify_deliveries_total", outcome="skipped_shadow"
            )
            team_skips = await metric(
                settings, "spikewatch_notify_deliveries_total", outcome="skipped_team"
            )
    assert actions_by_incident(stand_in) == expected  # nothing else: no shadow, no other team
    assert all(pages == 1 for pages in stand_in.pages.values())
    assert stand_in.retried_after_429, "the rate limit was never hit"
    assert min(stand_in.retried_after_429) >= 0.95  # Retry-After: 1 honoured every time
    assert delivered == 3 * len(incidents)
    assert rate_limited >= 6
    assert server_errors >= 8
    assert shadow_skips == len(shadow)
    assert team_skips == len(elsewhere)
    assert stale == 1  # an old event after a newer one is never delivered
    failures = [DeliveryFailure.model_validate_json(record.value or b"") for record in dead]
    by_reason = {failure.reason: failure for failure in failures}
    assert by_reason[FailureReason.REFUSED].status == 400
    assert "invalid event" in by_reason[FailureReason.REFUSED].answer
    assert by_reason[FailureReason.REFUSED].dedup_key == refused[0].dedup_key
    assert by_reason[FailureReason.INVALID_ESCALATION].source_topic == settings.oncall_topic("t")


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_the_webhook_endpoint_takes_only_signed_acknowledgements(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = notify_settings(bootstrap)
    await create_topics(bootstrap, [settings.oncall_topic("t")])
    url = web_url(settings, "/ack/pagerduty")
    with pagerduty_stand_in() as stand_in:
        config = write_sinks(tmp_path, pagerduty_sinks(tmp_path, stand_in), ENVIRON)
        async with running_notify(settings, config):
            body, headers = signed_webhook(
                SIGNING_SECRET, "incident.acknowledged", "spikewatch:b-1:t:1"
            )
            assert await asyncio.to_thread(post, url, body, headers) == 200
            unsigned = {
                key: value for key, value in headers.items() if key != "X-PagerDuty-Signature"
            }
            assert await asyncio.to_thread(post, url, body, unsigned) == 401
            forged_body, forged = signed_webhook(
                "not-the-secret", "incident.resolved", "spikewatch:b-2:t:1"
            )
            assert await asyncio.to_thread(post, url, forged_body, forged) == 401
            tampered = body.replace(b"b-1", b"b-9")
            assert await asyncio.to_thread(post, url, tampered, headers) == 401
            resolved, resolved_headers = signed_webhook(
                SIGNING_SECRET, "incident.resolved", "spikewatch:b-1:t:1", human=False
            )
            assert await asyncio.to_thread(post, url, resolved, resolved_headers) == 200
            unauthorized = await metric(
                settings,
                "spikewatch_notify_acknowledgements_total",
                source="pagerduty",
                outcome="unauthorized",
            )
    acks = await read_until(
        bootstrap,
        [settings.ack_topic],
        done=lambda records: len(records) >= 2,
        within=20,
        settle=1.0,
    )
    assert unauthorized == 3
    written = [json.loads(record.value or b"") for record in acks]
    assert [(ack["dedup_key"], ack["action"], ack["actor"]) for ack in written] == [
        ("spikewatch:b-1:t:1", "acknowledged", "human"),
        ("spikewatch:b-1:t:1", "resolved", "tool"),
    ]
    assert all(record.key == b"spikewatch:b-1:t:1" for record in acks)
    assert EventAction.TRIGGER.value not in {ack["action"] for ack in written}


async def test_slack_and_case_tool_sinks_post_every_event_with_their_secrets(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = notify_settings(bootstrap)
    await create_topics(bootstrap, [settings.oncall_topic("t")])
    events = incident("b-case", updates=1)
    with webhook_recorder() as recorder:
        config = write_sinks(
            tmp_path,
            {
                "version": 1,
                "sinks": [
                    {
                        "name": "slack",
                        "type": "slack",
                        "routes": {"t": {"webhook_url_env": "HOOK"}},
                    },
                    {
                        "name": "servicecloud",
                        "type": "template",
                        "method": "PATCH",
                        "url": f"{recorder.url}/case/{{{{ dedup_key | urlencode }}}}",
                        "template_file": str(TEMPLATES / "servicecloud-case.json.j2"),
                        "headers": [{"name": "Authorization", "value_env": "CASE_TOKEN"}],
                    },
                ],
            },
            {"HOOK": f"{recorder.url}/slack/T000/B000/secret", "CASE_TOKEN": "Bearer t0ken"},
        )
        async with running_notify(settings, config):
            await send_escalations(settings, events)
            await wait_for_delivery(
                settings,
                lambda: len(recorder.received()) >= 2 * len(events),
                90,
                "every event at both sinks",
            )
    slack = recorder.received("/slack/T000/B000/secret")
    assert [message["text"].split(":")[2].strip() for message in slack] == [
        "New incident",
        "Incident updated",
        "Resolved",
    ]
    case_path = "/case/" + events[0].dedup_key  # sent URL-quoted; aiohttp gives it decoded
    cases = recorder.received(case_path)
    assert [case.get("Status") for case in cases] == ["New", None, "Closed"]
    assert recorder.headers(case_path) == ["Bearer t0ken"] * 3
