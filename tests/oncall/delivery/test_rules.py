"""Retry verdicts and backoff, per-incident order, routing skips, acknowledgement webhooks."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from models.acknowledgement import AckAction, Actor
from models.escalation import EventAction, Severity
from oncall.delivery.acks import (
    InvalidWebhookError,
    SignatureProblem,
    alertmanager_acknowledgements,
    check_pagerduty_signature,
    pagerduty_acknowledgements,
    pagerduty_signature,
)
from oncall.delivery.config import AlertmanagerSink, PagerDutySink, RetryConfig
from oncall.delivery.ordering import SequenceGuard
from oncall.delivery.retry import Backoff, Verdict, retry_after_seconds, verdict
from oncall.delivery.routing import Skip, skip_reason
from tests.models.test_escalation_v2 import escalation
from tests.support.pagerduty import signed_webhook

NOW = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Verdict.ACCEPTED),
        (202, Verdict.ACCEPTED),
        (204, Verdict.ACCEPTED),
        (400, Verdict.REFUSED),
        (401, Verdict.REFUSED),
        (404, Verdict.REFUSED),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
    ],
)
def test_only_failures_that_may_pass_are_retried(status: int, expected: Verdict) -> None:
    assert verdict(status) is expected


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7", NOW) == 7.0
    assert retry_after_seconds("Wed, 02 Dec 2026 19:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("Wed, 02 Dec 2026 18:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds(None, NOW) is None
    assert retry_after_seconds("soon", NOW) is None


def test_backoff_grows_to_its_cap_with_jitter_and_honours_retry_after() -> None:
    backoff = Backoff(
        RetryConfig(initial_backoff_seconds=1, max_backoff_seconds=8, multiplier=2),
        random.Random(3),
    )
    assert [backoff.ceiling(attempt) for attempt in range(1, 6)] == [1, 2, 4, 8, 8]
    delays = [backoff.delay(4) for _ in range(200)]
    assert 0 <= min(delays) < 2 < 6 < max(delays) <= 8
    assert all(backoff.delay(1, retry_after=5) >= 5 for _ in range(50))


def test_an_event_not_newer_than_the_last_delivered_is_stale() -> None:
    guard = SequenceGuard(capacity=2)
    assert not guard.is_stale("a", 1)
    guard.delivered("a", 2)
    assert guard.is_stale("a", 1)
    assert guard.is_stale("a", 2)
    assert not guard.is_stale("a", 3)
    guard.delivered("b", 1)
    guard.delivered("c", 1)
    assert not guard.is_stale("a", 1)  # forgotten past the capacity, oldest first


def test_shadow_other_teams_and_low_severities_are_skipped_but_resolves_pass() -> None:
    sink = AlertmanagerSink(
        name="am", type="alertmanager", url="http://x", teams=["t"], min_severity=Severity.ERROR
    )
    assert skip_reason(sink, escalation()) is None
    assert skip_reason(sink, escalation(shadow=True)) is Skip.SHADOW
    labels = escalation().labels.model_copy(update={"team": "other"})
    assert skip_reason(sink, escalation(labels=labels)) is Skip.OTHER_TEAM
    assert skip_reason(sink, escalation(severity=Severity.WARNING)) is Skip.BELOW_SEVERITY
    resolve = escalation(severity=Severity.WARNING, event_action=EventAction.RESOLVE, sequence=2)
    assert skip_reason(sink, resolve) is None


def test_a_pagerduty_sink_pages_for_paging_severities_only_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PD_KEY", "routing-key")
    routes = {"t": {"routing_key_env": "PD_KEY"}}
    pager = PagerDutySink.model_validate({"name": "pd", "type": "pagerduty", "routes": routes})
    assert skip_reason(pager, escalation(severity=Severity.ERROR)) is None
    assert skip_reason(pager, escalation(severity=Severity.WARNING)) is Skip.BELOW_SEVERITY
    told = PagerDutySink.model_validate(
        {"name": "pd", "type": "pagerduty", "routes": routes, "min_severity": "warning"}
    )
    assert skip_reason(told, escalation(severity=Severity.WARNING)) is None


def test_a_pagerduty_signature_must_match_the_raw_body() -> None:
    body, headers = signed_webhook("secret", "incident.acknowledged", "k")
    signature = headers["X-PagerDuty-Signature"]
    assert check_pagerduty_signature("secret", signature, body) is None
    rotating = f"{pagerduty_signature('old', body)}, {signature}"
    assert check_pagerduty_signature("secret", rotating, body) is None
    assert check_pagerduty_signature("secret", signature, body + b" ") is SignatureProblem.INVALID
    assert check_pagerduty_signature("other", signature, body) is SignatureProblem.INVALID
    assert check_pagerduty_signature("secret", None, body) is SignatureProblem.MISSING
    assert check_pagerduty_signature(None, signature, body) is SignatureProblem.NO_SECRET


def test_pagerduty_webhooks_become_acknowledgements_by_incident_key() -> None:
    body, _ = signed_webhook("s", "incident.acknowledged", "spikewatch:b-1:t:1")
    [ack] = pagerduty_acknowledgements(body)
    assert ack.dedup_key == "spikewatch:b-1:t:1"
    assert ack.action is AckAction.ACKNOWLEDGED
    assert ack.actor is Actor.HUMAN
    assert ack.tool == "pagerduty"
    body, _ = signed_webhook("s", "incident.resolved", "k", human=False)
    [ack] = pagerduty_acknowledgements(body)
    assert (ack.action, ack.actor) == (AckAction.RESOLVED, Actor.TOOL)
    body, _ = signed_webhook("s", "incident.priority_updated", "k")
    assert pagerduty_acknowledgements(body) == []
    with pytest.raises(InvalidWebhookError, match="dedup_key"):
        pagerduty_acknowledgements(signed_webhook("s", "incident.resolved", "")[0])
    with pytest.raises(InvalidWebhookError, match="not JSON"):
        pagerduty_acknowledgements(b"{")


def test_alertmanager_resolved_notifications_become_tool_resolutions() -> None:
    body = json.dumps(
        {
            "version": "4",
            "status": "resolved",
            "alerts": [
                {
                    "status": "resolved",
                    "annotations": {"dedup_key": "k1"},
                    "endsAt": "2026-12-02T19:05:00Z",
                },
                {"status": "firing", "annotations": {"dedup_key": "k2"}},
                {"status": "resolved", "annotations": {}},
            ],
        }
    ).encode()
    [ack] = alertmanager_acknowledgements(body, NOW)
    assert (ack.dedup_key, ack.action, ack.actor) == ("k1", AckAction.RESOLVED, Actor.TOOL)
    assert ack.acted_at == datetime(2026, 12, 2, 19, 5, tzinfo=UTC)
    with pytest.raises(InvalidWebhookError, match="alerts"):
        alertmanager_acknowledgements(b"{}", NOW)
