"""Case-tool requests rendered from the team's templates, in Jinja2's sandbox.

The sandbox matters: templates are configuration, edited by analysts, and must
not reach Python internals. Undefined names fail the render instead of
rendering empty, and a JSON body that does not parse is refused here, before
a case tool sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from models.escalation_v2 import EscalationV2
from oncall.delivery.payloads import evidence_in_short


class TemplateRenderError(ValueError):
    """A template that cannot render this event; the event is dead-lettered with this line."""


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    url: str
    body: bytes


class RequestTemplate:
    """One sink's URL and body templates, compiled once."""

    def __init__(self, url: str, body: str, content_type: str = "application/json") -> None:
        environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        try:
            self._url = environment.from_string(url)
            self._body = environment.from_string(body)
        except TemplateError as error:
            raise TemplateRenderError(f"template does not compile: {error}") from error
        self.is_json = content_type.split(";")[0].strip().endswith("json")

    def render(self, escalation: EscalationV2, incident_url: str | None) -> RenderedRequest:
        context = template_context(escalation, incident_url)
        try:
            url = self._url.render(context).strip()
            body = self._body.render(context)
        except (TemplateError, TypeError, ValueError) as error:
            raise TemplateRenderError(f"template failed: {error}") from error
        if not url.startswith(("https://", "http://")):
            raise TemplateRenderError("rendered URL does not start with https:// or http://")
        if self.is_json:
            try:
                json.loads(body)
            except ValueError as error:
                raise TemplateRenderError(f"rendered body is not JSON: {error}") from error
        return RenderedRequest(url=url, body=body.encode())


def template_context(escalation: EscalationV2, incident_url: str | None) -> dict[str, Any]:
    """The names a template may use; ``escalation`` is the event as on the wire."""
    return {
        "escalation": escalation.model_dump(
            mode="json", by_alias=True, exclude={"evidence": {"series"}}
        ),
        "dedup_key": escalation.dedup_key,
        "action": escalation.event_action.value,
        "team": escalation.labels.team,
        "severity": escalation.severity.value,
        "summary": escalation.summary,
        "evidence_in_short": evidence_in_short(escalation),
        "incident_url": incident_url,
        "runbook_url": escalation.runbook_url,
    }
