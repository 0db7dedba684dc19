"""A local stand-in for PagerDuty: Events API v2 and signed webhooks v3, as documented.

It validates events the way PagerDuty documents (``routing_key`` of 32
characters, ``event_action``, ``dedup_key`` of at most 255 characters and
required for acknowledge/resolve, a trigger's ``payload`` with ``summary`` up to
1024 characters, ``source`` and one of four severities), answers ``202`` with
``{"status": "success", ...}`` or ``400`` with ``{"status": "invalid event",
"errors": [...]}``, and can be told to have an outage (5xx) or rate-limit
(``429`` with ``Retry-After``). It keeps PagerDuty's incident model per
``dedup_key``: a trigger opens an incident unless one is open (then it folds
into it), a resolve closes it; each opening is a *page*.

Runs in its own thread and event loop, bound to 127.0.0.1 on a free port, so
both in-process and subprocess services can reach it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from oncall.delivery.acks import pagerduty_signature
from streams.notify.local_http import BackgroundHttpServer

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})


def validation_errors(event: Any) -> list[str]:
    """Why PagerDuty would refuse this event; empty if it takes it."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object."]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' must be a 32-character integration key.")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve).")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters.")
    if action in {"acknowledge", "resolve"} and not dedup_key:
        errors.append("'dedup_key' is required for acknowledge and resolve.")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    links = event.get("links", [])
    if not isinstance(links, list) or any(
        not isinstance(link, dict) or not isinstance(link.get("href"), str) for link in links
    ):
        errors.append("'links' must be a list of objects with an 'href'.")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is required for trigger events."]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) > 1024:
        errors.append("'payload.summary' must be 1 to 1024 characters.")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        errors.append("'payload.source' is required.")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' must be critical, error, warning or info.")
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errors.append("'payload.timestamp' must be ISO 8601.")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string.")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict | str):
        errors.append("'payload.custom_details' must be an object.")
    return errors


@dataclass
class PagerDutyStandIn:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    """Every accepted event, in arrival order (re-deliveries included)."""
    pages: dict[str, int] = field(default_factory=dict)
    """How many times each dedup_key opened an incident."""
    open_incidents: set[str] = field(default_factory=set)
    answers: dict[int, int] = field(default_factory=dict)
    """How many requests got each status."""
    rate_limited_at: dict[str, float] = field(default_factory=dict)
    retried_after_429: list[float] = field(default_factory=list)
    """Seconds between a 429 and the next request for the same dedup_key (>= Retry-After)."""
    delay_seconds: float = 0.0
    """How long each answer takes, so a test can kill a sender mid-delivery."""
    _outage_status: int | None = None
    _rate_limit_remaining: int = 0
    _retry_after: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: BackgroundHttpServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{self._server.url}/v2/enqueue"

    def outage(self, status: int = 503) -> None:
        with self._lock:
            self._outage_status = status

    def recover(self) -> None:
        with self._lock:
            self._outage_status = None

    def rate_limit(self, requests: int, retry_after: int = 1) -> None:
        with self._lock:
            self._rate_limit_remaining = requests
            self._retry_after = retry_after

    def accepted_events(self) -> list[dict[str, Any]]:
        """A copy of the accepted events, safe to read while the stand-in serves."""
        with self._lock:
            return list(self.accepted)

    async def _enqueue(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        key = str(event.get("dedup_key")) if isinstance(event, dict) else ""
        with self._lock:
            now = time.monotonic()
            if key in self.rate_limited_at:
                self.retried_after_429.append(now - self.rate_limited_at.pop(key))
            if self._outage_status is not None:
                return self._answer(self._outage_status, {"status": "unavailable"})
            if self._rate_limit_remaining > 0:
                self._rate_limit_remaining -= 1
                self.rate_limited_at[key] = now
                return self._answer(
                    429,
                    {
                        "status": "throttle event",
                        "message": "Requests for this service are arriving too quickly.",
                    },
                    {"Retry-After": str(self._retry_after)},
                )
            errors = validation_errors(event)
            if errors:
                return self._answer(
                    400,
                    {
                        "status": "invalid event",
                        "message": "Event object is invalid",
                        "errors": errors,
                    },
                )
            self._apply(event)
            return self._answer(
                202,
                {
                    "status": "success",
                    "message": "Event processed",
                    "dedup_key": event.get("dedup_key"),
                },
            )

    def _apply(self, event: dict[str, Any]) -> None:
        self.accepted.append(event)
        key = event.get("dedup_key") or f"generated-{len(self.accepted)}"
        if event["event_action"] == "trigger" and key not in self.open_incidents:
            self.open_incidents.add(key)
            self.pages[key] = self.pages.get(key, 0) + 1
        elif event["event_action"] == "resolve":
            self.open_incidents.discard(key)

    def _answer(
        self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None
    ) -> web.Response:
        self.answers[status] = self.answers.get(status, 0) + 1
        return web.json_response(document, status=status, headers=headers)

    def start(self) -> PagerDutyStandIn:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._server = BackgroundHttpServer(app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


@contextmanager
def pagerduty_stand_in() -> Iterator[PagerDutyStandIn]:
    stand_in = PagerDutyStandIn().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def signed_webhook(
    secret: str, event_type: str, incident_key: str, human: bool = True
) -> tuple[bytes, dict[str, str]]:
    """A webhooks v3 request body and its headers, signed as PagerDuty signs them."""
    body = json.dumps(
        {
            "event": {
                "id": "01DEN4HPBQAAAG05V5QQYBRZMF",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-12-02T19:00:00.000Z",
                "agent": {"id": "PLH1HKV", "type": "user_reference"} if human else None,
                "client": None,
                "data": {
                    "id": "PGR0VU2",
                    "type": "incident",
                    "number": 2,
                    "status": event_type.removeprefix("incident."),
                    "incident_key": incident_key,
                    "title": "spikewatch incident",
                },
            }
        }
    ).encode()
    return body, {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": pagerduty_signature(secret, body),
        "X-Webhook-Id": "7a2b8e6a-0000-4000-8000-000000000000",
    }
