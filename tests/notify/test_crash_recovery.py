"""kill -9 of ``spikewatch notify`` mid-delivery: at least once, in order, never paged twice.

The service runs as its own process against the PagerDuty stand-in, which answers
slowly enough that the kill lands while requests are in flight and offsets are
uncommitted. After a restart every event must have been accepted, each
incident's events in ``sequence`` order (a re-sent event is only ever the
latest one delivered), and the stand-in, which opens a PagerDuty incident per
``dedup_key``, must have paged each incident exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.monitoring import wait_for
from tests.support.notify import (
    PAGERDUTY_ENVIRON,
    create_topics,
    incident,
    notify_process,
    notify_settings,
    send_escalations,
    write_pagerduty_sink,
)
from tests.support.pagerduty import PagerDutyStandIn, pagerduty_stand_in

pytestmark = pytest.mark.kafka
INCIDENTS = 150


def event_identity(event: dict[str, Any]) -> tuple[str, int | None]:
    """(action, sequence): a trigger carries its sequence in custom_details, a resolve none."""
    payload = event.get("payload") or {}
    return event["event_action"], (payload.get("custom_details") or {}).get("sequence")


def deliveries_without_repeats(
    stand_in: PagerDutyStandIn,
) -> dict[str, list[tuple[str, int | None]]]:
    """Each incident's accepted events with back-to-back re-sends of one event folded."""
    found: dict[str, list[tuple[str, int | None]]] = {}
    for event in stand_in.accepted_events():
        events = found.setdefault(event["dedup_key"], [])
        identity = event_identity(event)
        if not events or events[-1] != identity:
            events.append(identity)
    return found


def test_kill_minus_nine_mid_delivery_loses_nothing_and_pages_once(
    bootstrap: str, tmp_path: Path
) -> None:
    settings = notify_settings(bootstrap, kafka_session_timeout_seconds=10)
    asyncio.run(create_topics(bootstrap, [settings.oncall_topic("t")]))
    incidents = [incident(f"crash-{number}", updates=1) for number in range(INCIDENTS)]
    expected = {
        events[0].dedup_key: [("trigger", 1), ("trigger", 2), ("resolve", None)]
        for events in incidents
    }
    log = tmp_path / "notify.log"
    with pagerduty_stand_in() as stand_in:
        stand_in.delay_seconds = 0.02
        write_pagerduty_sink(tmp_path, stand_in.url)
        first = notify_process(settings, tmp_path / "sinks.yaml", log, PAGERDUTY_ENVIRON)
        try:
            asyncio.run(
                send_escalations(settings, [event for events in incidents for event in events])
            )
            wait_for(lambda: len(stand_in.accepted) >= 120, 90, "deliveries under way")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            killed_after = len(stand_in.accepted)
            second = notify_process(settings, tmp_path / "sinks.yaml", log, PAGERDUTY_ENVIRON)
            try:
                wait_for(
                    lambda: deliveries_without_repeats(stand_in) == expected,
                    120,
                    "every incident's events, in order, after the restart",
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
    assert killed_after < 3 * INCIDENTS, "the kill came after everything was delivered"
    assert deliveries_without_repeats(stand_in) == expected
    assert set(stand_in.pages) == set(expected)
    assert all(pages == 1 for pages in stand_in.pages.values())
