"""The HTTP requests one sink makes for one escalation, built without doing any I/O.

The Alertmanager sink is the one with state (its open alerts, to post again
before they expire); the others are functions of the event and the config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.escalation_v2 import EscalationV2
from oncall.delivery.alertmanager import OpenAlerts, Origin
from oncall.delivery.config import (
    AlertmanagerSink,
    NotifyConfig,
    PagerDutySink,
    SlackSink,
    TemplateSink,
)
from oncall.delivery.payloads import incident_url, pagerduty_event, slack_message
from oncall.delivery.routing import AnySink
from oncall.delivery.templates import RequestTemplate

JSON = "application/json"
MAX_ALERTS_PER_POST = 500


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One request; ``headers`` may hold secrets and ``url`` may be one (Slack): never log them."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class RequestBuilder:
    """Turns escalations into requests for one configured sink."""

    def __init__(self, sink: AnySink, config: NotifyConfig) -> None:
        self.sink = sink
        self.url_template = config.incident_url_template
        self.open_alerts: OpenAlerts | None = None
        self._template: RequestTemplate | None = None
        if isinstance(sink, AlertmanagerSink):
            self.open_alerts = OpenAlerts(timedelta(seconds=sink.open_alert_horizon_seconds))
        if isinstance(sink, TemplateSink):
            self._template = RequestTemplate(sink.url, sink.template_text, sink.content_type)

    def requests_for(
        self, escalation: EscalationV2, now: datetime, origin: Origin | None = None
    ) -> list[OutgoingRequest]:
        """Raises :class:`~oncall.delivery.templates.TemplateRenderError` for a bad template."""
        sink = self.sink
        url = incident_url(self.url_template, escalation)
        if isinstance(sink, AlertmanagerSink):
            assert self.open_alerts is not None
            return self._alertmanager_posts(
                self.open_alerts.on_escalation(escalation, url, now, origin)
            )
        if isinstance(sink, PagerDutySink):
            key = sink.routes[escalation.labels.team].routing_key.get_secret_value()
            body = _json(pagerduty_event(escalation, key, url))
            return [OutgoingRequest("POST", sink.url, body, {"Content-Type": JSON})]
        if isinstance(sink, SlackSink):
            hook = sink.routes[escalation.labels.team].webhook_url.get_secret_value()
            body = _json(slack_message(escalation, url))
            return [OutgoingRequest("POST", hook, body, {"Content-Type": JSON})]
        assert isinstance(sink, TemplateSink)
        assert self._template is not None
        rendered = self._template.render(escalation, url)
        headers = {"Content-Type": sink.content_type}
        headers.update({header.name: header.value.get_secret_value() for header in sink.headers})
        return [OutgoingRequest(sink.method, rendered.url, rendered.body, headers)]

    def reposts(self, now: datetime) -> list[OutgoingRequest]:
        """Open alerts posted again before Alertmanager would end them; none for other sinks."""
        if self.open_alerts is None:
            return []
        return self._alertmanager_posts(self.open_alerts.repost(now))

    def _alertmanager_posts(self, alerts: list[dict[str, object]]) -> list[OutgoingRequest]:
        sink = self.sink
        assert isinstance(sink, AlertmanagerSink)
        headers = {"Content-Type": JSON}
        if sink.bearer_token is not None:
            headers["Authorization"] = f"Bearer {sink.bearer_token.get_secret_value()}"
        endpoint = sink.url.rstrip("/") + "/api/v2/alerts"
        return [
            OutgoingRequest(
                "POST", endpoint, _json(alerts[start : start + MAX_ALERTS_PER_POST]), headers
            )
            for start in range(0, len(alerts), MAX_ALERTS_PER_POST)
        ]
