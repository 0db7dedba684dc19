"""Build Escalation v1 events for tests that need one without running the core."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from models.escalation import (
    Escalation,
    EscalationClass,
    EscalationLabels,
    EventAction,
    Evidence,
    Severity,
)
from models.report import Category


def escalation(
    dedup_key: str,
    action: EventAction = EventAction.TRIGGER,
    severity: Severity = Severity.CRITICAL,
    *,
    at: float | None = None,
    broadcast_id: str = "b",
    team: str = "t",
) -> Escalation:
    moment = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    return Escalation(
        event_id=dedup_key,
        dedup_key=dedup_key,
        sequence=1,
        event_action=action,
        severity=severity,
        escalation_class=EscalationClass.REPORT_SPIKE,
        summary="test escalation",
        labels=EscalationLabels(broadcast_id=broadcast_id, category=Category.HARASSMENT, team=team),
        evidence=Evidence(
            reports=1,
            distinct_reporters=1,
            viewers=None,
            expected_reports=0,
            window_start=moment,
            window_end=moment,
            sample_report_ids=[],
            rules=[],
        ),
        detected_at=moment,
        starts_at=moment,
        policy_version="p",
    )
