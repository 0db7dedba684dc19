"""``spikewatch notify`` posting to a real Alertmanager that routes with the shipped config.

Alertmanager (Debian's) runs deploy/alertmanager/alertmanager.yml with each
receiver pointed at a webhook recorder run by the test (and the incident route's
waits shortened). It must show one notification group per broadcast, the
resolve, a silence on ``broadcast_id`` suppressing the notification, nothing for
a shadow escalation, and its resolved notifications must come back through
notify's webhook as acknowledgements.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.report import Category
from tests.support.kafka import read_until
from tests.support.monitoring import (
    ALERTMANAGER_CONFIG,
    AlertmanagerServer,
    get_json,
    post_json,
    wait_for,
)
from tests.support.notify import (
    create_topics,
    incident,
    metric,
    metric_now,
    notify_settings,
    running_notify,
    send_escalations,
    wait_for_delivery,
    web_url,
    write_sinks,
)
from tests.support.webhook_recorder import WebhookRecorder, webhook_recorder

pytestmark = pytest.mark.kafka

DELIVERIES = "spikewatch_notify_deliveries_total"


def routed_config(path: Path, recorder: WebhookRecorder, ack_url: str) -> Path:
    """The shipped config, every receiver posting to the recorder, abuse-oncall also to notify."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        hooks = [{"url": f"{recorder.url}/{receiver['name']}", "send_resolved": True}]
        if receiver["name"] == "abuse-oncall":
            hooks.append({"url": ack_url, "send_resolved": True})
        receiver["webhook_configs"] = hooks
    [incidents] = [
        route for route in config["route"]["routes"] if route["receiver"] == "abuse-oncall"
    ]
    incidents.update(group_wait="1s", group_interval="1s")
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def recorder() -> Iterator[WebhookRecorder]:
    with webhook_recorder() as running:
        yield running


def notifications(recorder: WebhookRecorder, receiver: str) -> list[dict[str, Any]]:
    return list(recorder.received(f"/{receiver}"))


def broadcasts_in(notification: dict[str, Any]) -> set[str]:
    return {alert["labels"]["broadcast_id"] for alert in notification["alerts"]}


async def test_alertmanager_groups_by_broadcast_resolves_and_honours_silences(
    bootstrap: str, tmp_path: Path, recorder: WebhookRecorder
) -> None:
    settings = notify_settings(bootstrap)
    teams = ("t", "child-safety")
    await create_topics(bootstrap, [settings.oncall_topic(team) for team in teams])
    alertmanager = AlertmanagerServer(tmp_path / "alertmanager").start(
        routed_config(
            tmp_path / "alertmanager.yml", recorder, web_url(settings, "/ack/alertmanager")
        )
    )
    try:
        now = datetime.now(UTC)
        post_json(
            f"{alertmanager.url}/api/v2/silences",
            {
                "matchers": [{"name": "broadcast_id", "value": "b-known-event", "isRegex": False}],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
                "createdBy": "test",
                "comment": "maintenance window for a known event",
            },
        )
        harassment = incident("b-1", updates=1)
        child_safety = incident(
            "b-1", team="child-safety", category=Category.CHILD_SAFETY, updates=0
        )
        other = incident("b-2", updates=0)
        silenced = incident("b-known-event", updates=0, resolve=False)
        shadow = incident("b-shadow", updates=0, resolve=False, shadow=True)
        config = write_sinks(
            tmp_path,
            {
                "version": 1,
                "sinks": [
                    {"name": "alertmanager", "type": "alertmanager", "url": alertmanager.url}
                ],
            },
            {},
        )
        async with running_notify(settings, config, teams=teams):
            opening = [
                harassment[0],
                harassment[1],
                child_safety[0],
                other[0],
                silenced[0],
                shadow[0],
            ]
            await send_escalations(settings, opening)

            def firing_seen() -> bool:
                seen = {
                    broadcast
                    for receiver in ("abuse-oncall", "child-safety-oncall")
                    for notification in notifications(recorder, receiver)
                    for broadcast in broadcasts_in(notification)
                }
                return {"b-1", "b-2"} <= seen

            await asyncio.to_thread(wait_for, firing_seen, 60, "notifications for b-1 and b-2")
            known = await asyncio.to_thread(
                wait_for,
                lambda: get_json(
                    f"{alertmanager.url}/api/v2/alerts?filter=broadcast_id%3D%22b-known-event%22"
                ),
                30,
                "the silenced alert in Alertmanager",
            )
            await send_escalations(settings, [harassment[2], child_safety[1], other[1]])

            def resolved_seen() -> bool:
                return any(
                    notification["status"] == "resolved" and broadcasts_in(notification) == {"b-1"}
                    for notification in notifications(recorder, "abuse-oncall")
                )

            await asyncio.to_thread(
                wait_for, resolved_seen, 60, "the resolved notification for b-1"
            )
            expected = len(harassment) + len(child_safety) + len(other) + len(silenced)
            # b-1's resolution can be seen before b-2's has been counted: wait for the
            # count, then check that nothing beyond it was delivered.
            await wait_for_delivery(
                settings,
                lambda: metric_now(settings, DELIVERIES, outcome="delivered") >= expected,
                30,
                f"{expected} deliveries",
            )
            delivered = await metric(settings, DELIVERIES, outcome="delivered")
        every_alert = await asyncio.to_thread(
            get_json,
            f"{alertmanager.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true",
        )
    finally:
        alertmanager.stop()

    assert delivered == expected
    for receiver in ("abuse-oncall", "child-safety-oncall"):
        groups: dict[str, set[str]] = {}
        for notification in notifications(recorder, receiver):
            assert notification["groupLabels"] == {
                "broadcast_id": next(iter(broadcasts_in(notification)))
            }
            assert len(broadcasts_in(notification)) == 1  # never two broadcasts in one notification
            groups.setdefault(notification["groupKey"], set()).update(broadcasts_in(notification))
        by_broadcast: dict[str, int] = {}
        for members in groups.values():
            for broadcast in members:
                by_broadcast[broadcast] = by_broadcast.get(broadcast, 0) + 1
        assert all(count == 1 for count in by_broadcast.values()), (receiver, groups)
    assert {
        b for n in notifications(recorder, "child-safety-oncall") for b in broadcasts_in(n)
    } == {"b-1"}
    everything = [body for body in recorder.received() if isinstance(body, dict)]
    named = {b for body in everything for b in broadcasts_in(body)}
    assert "b-known-event" not in named  # silenced: the maintenance window holds
    assert "b-shadow" not in named
    [silenced_alert] = known
    assert silenced_alert["status"]["state"] == "suppressed"
    assert silenced_alert["status"]["silencedBy"]
    assert not [alert for alert in every_alert if alert["labels"]["broadcast_id"] == "b-shadow"]
    last_b1 = [n for n in notifications(recorder, "abuse-oncall") if broadcasts_in(n) == {"b-1"}][
        -1
    ]
    assert last_b1["status"] == "resolved"
    assert {alert["labels"]["severity"] for alert in last_b1["alerts"]} <= {"error", "critical"}
    acks = await read_until(
        bootstrap,
        [settings.ack_topic],
        done=lambda records: any(
            record.key == harassment[0].dedup_key.encode() for record in records
        ),
        within=30,
    )
    written = [json.loads(record.value or b"") for record in acks]
    assert {(ack["dedup_key"], ack["action"], ack["tool"]) for ack in written} >= {
        (harassment[0].dedup_key, "resolved", "alertmanager")
    }
