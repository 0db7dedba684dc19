"""Alertmanager API v2 alerts for spikewatch incidents, and the open ones to keep alive.

Alertmanager knows an alert by its label set and resolves it by itself once
``endsAt`` has passed. So an open incident's alert carries an ``endsAt`` a
*horizon* ahead and is posted again well before that runs out (see
:class:`OpenAlerts`); the resolve carries the incident's real end.

An incident's severity and leading category may change on update, and they are
labels (routing reads them), which makes a new alert identity. The previous
alert is then ended in the same post, so one incident never shows as two
firing alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from oncall.delivery.payloads import evidence_in_short

Alert = dict[str, Any]


def alert_labels(escalation: EscalationV2) -> dict[str, str]:
    """Low-cardinality labels for routing and silences, plus the broadcast's ids."""
    labels = escalation.labels
    found = {
        "alertname": escalation.escalation_class.value,
        "team": labels.team,
        "severity": escalation.severity.value,
        "broadcast_id": labels.broadcast_id,
        "category": labels.category.value,
        "source": "spikewatch",
    }
    if labels.broadcaster_id is not None:
        found["broadcaster_id"] = labels.broadcaster_id
    if labels.platform is not None:
        found["platform"] = labels.platform.value
    if labels.region is not None:
        found["region"] = labels.region
    return found


def alert_annotations(escalation: EscalationV2, url: str | None) -> dict[str, str]:
    """What a person reads; ``dedup_key`` also lets the webhook receiver map a notification back."""
    found = {
        "summary": escalation.summary,
        "evidence": evidence_in_short(escalation),
        "dedup_key": escalation.dedup_key,
    }
    if escalation.runbook_url is not None:
        found["runbook_url"] = escalation.runbook_url
    if url is not None:
        found["incident_url"] = url
    if escalation.related:
        found["related"] = ", ".join(escalation.related)
    return found


Origin = tuple[str, int]
"""The (topic, partition) an incident's events come from."""


@dataclass(frozen=True, slots=True)
class _Posted:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    generator_url: str | None
    origin: Origin | None


def _alert(posted: _Posted, ends_at: datetime) -> Alert:
    alert: Alert = {
        "labels": posted.labels,
        "annotations": posted.annotations,
        "startsAt": posted.starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
    }
    if posted.generator_url is not None:
        alert["generatorURL"] = posted.generator_url
    return alert


class OpenAlerts:
    """The open incidents' alerts of one Alertmanager sink, to post now and to post again.

    Held in memory: after a restart, an incident opened earlier is known again at
    its next event; until then its alert stays firing up to the horizon, which is
    why the horizon is long (an hour by default) and the re-post short. When a
    partition moves to another process, its incidents are forgotten here
    (:meth:`keep_only`): re-posting them would revive alerts the new owner resolves.
    """

    def __init__(self, horizon: timedelta) -> None:
        self.horizon = horizon
        self._open: dict[str, _Posted] = {}

    def __len__(self) -> int:
        return len(self._open)

    def on_escalation(
        self,
        escalation: EscalationV2,
        url: str | None,
        now: datetime,
        origin: Origin | None = None,
    ) -> list[Alert]:
        """The alerts to post for one event; the incident's open state follows it."""
        posted = _Posted(
            labels=alert_labels(escalation),
            annotations=alert_annotations(escalation, url),
            starts_at=escalation.starts_at,
            generator_url=url,
            origin=origin,
        )
        previous = self._open.pop(escalation.dedup_key, None)
        if escalation.event_action is EventAction.RESOLVE:
            ended = escalation.ends_at or escalation.detected_at
            alerts = [_alert(posted, ended)]
            if previous is not None and previous.labels != posted.labels:
                alerts.append(_alert(previous, ended))
            return alerts
        alerts = [_alert(posted, now + self.horizon)]
        if previous is not None and previous.labels != posted.labels:
            alerts.append(_alert(previous, now))
        self._open[escalation.dedup_key] = posted
        return alerts

    def keep_only(self, origins: set[Origin]) -> None:
        """Stop re-posting the incidents of partitions this process no longer owns."""
        self._open = {
            key: posted
            for key, posted in self._open.items()
            if posted.origin is None or posted.origin in origins
        }

    def repost(self, now: datetime) -> list[Alert]:
        """Every open alert again, with its ``endsAt`` moved a horizon ahead of ``now``."""
        return [_alert(posted, now + self.horizon) for posted in self._open.values()]
