"""Acknowledgements from on-call tools, read from their webhooks as Acknowledgement v1.

PagerDuty (webhooks v3) signs each request: ``X-PagerDuty-Signature`` holds one
or more ``v1=<hex HMAC-SHA256 of the raw body>`` (several while a secret is
being rotated); one match is enough. The incident's ``incident_key`` is the
``dedup_key`` spikewatch sent with the Events API, which is how an
acknowledgement finds its incident. A person acting shows as a
``user_reference`` agent; anything else (auto-resolve, an API key) is a tool.

Alertmanager's webhook has no signature (a bearer token in its
``http_config`` protects it instead) and no acknowledgement: a notification
whose alert is resolved becomes a resolution by a tool, named by the
``dedup_key`` annotation the Alertmanager sink puts on every alert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from models.acknowledgement import AckAction, Acknowledgement, Actor

PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
_PAGERDUTY_ACTIONS = {
    "incident.acknowledged": AckAction.ACKNOWLEDGED,
    "incident.resolved": AckAction.RESOLVED,
}


class AckSource(StrEnum):
    PAGERDUTY = "pagerduty"
    ALERTMANAGER = "alertmanager"


class SignatureProblem(StrEnum):
    """Why a request was refused with 401; a fixed enum for the metric label."""

    MISSING = "missing_signature"
    INVALID = "invalid_signature"
    NO_SECRET = "no_secret_configured"  # noqa: S105 (a reason name, not a secret)


class InvalidWebhookError(ValueError):
    """A signed request whose body is not what the tool documents; answered with 400."""


def pagerduty_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_pagerduty_signature(
    secret: str | None, header: str | None, body: bytes
) -> SignatureProblem | None:
    """None when one of the header's ``v1=`` signatures matches the body, else why not."""
    if secret is None:
        return SignatureProblem.NO_SECRET
    if header is None or not header.strip():
        return SignatureProblem.MISSING
    expected = pagerduty_signature(secret, body)
    offered = [part.strip() for part in header.split(",")]
    if any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return None
    return SignatureProblem.INVALID


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise InvalidWebhookError(f"body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidWebhookError("body is not a JSON object")
    return document


def _acknowledgement(
    dedup_key: Any, action: AckAction, actor: Actor, acted_at: Any, tool: AckSource
) -> Acknowledgement:
    try:
        return Acknowledgement(
            schema_version=1,
            dedup_key=dedup_key,
            action=action,
            actor=actor,
            acted_at=acted_at,
            tool=tool.value,
        )
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidWebhookError(f"{field}: {first['msg']}") from error


def pagerduty_acknowledgements(body: bytes) -> list[Acknowledgement]:
    """The acknowledgement in a v3 webhook; empty for event types that are not one."""
    event = _json_object(body).get("event")
    if not isinstance(event, dict):
        raise InvalidWebhookError("event: missing")
    action = _PAGERDUTY_ACTIONS.get(str(event.get("event_type")))
    if action is None:
        return []
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidWebhookError("event.data: missing")
    agent = event.get("agent")
    human = isinstance(agent, dict) and agent.get("type") == "user_reference"
    return [
        _acknowledgement(
            data.get("incident_key"),
            action,
            Actor.HUMAN if human else Actor.TOOL,
            event.get("occurred_at"),
            AckSource.PAGERDUTY,
        )
    ]


def alertmanager_acknowledgements(body: bytes, now: datetime) -> list[Acknowledgement]:
    """Resolutions in an Alertmanager webhook notification, for spikewatch's own alerts."""
    alerts = _json_object(body).get("alerts")
    if not isinstance(alerts, list):
        raise InvalidWebhookError("alerts: missing")
    found = []
    for alert in alerts:
        if not isinstance(alert, dict) or alert.get("status") != "resolved":
            continue
        annotations = alert.get("annotations")
        dedup_key = annotations.get("dedup_key") if isinstance(annotations, dict) else None
        if dedup_key is None:
            continue
        ended = alert.get("endsAt")
        found.append(
            _acknowledgement(
                dedup_key, AckAction.RESOLVED, Actor.TOOL, ended or now, AckSource.ALERTMANAGER
            )
        )
    return found
