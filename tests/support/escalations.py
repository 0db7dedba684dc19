"""Build Escalation v2 events for tests that need one without running the core."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from models.escalation import EscalationClass, EscalationLabels, EventAction, Severity
from models.escalation_v2 import EscalationV2, EvidenceV2, TrustMix
from models.report import Category


def escalation(
    dedup_key: str,
    action: EventAction = EventAction.TRIGGER,
    severity: Severity = Severity.CRITICAL,
    *,
    at: float | None = None,
    broadcast_id: str = "b",
    team: str = "t",
) -> EscalationV2:
    moment = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    return EscalationV2(
        event_id=dedup_key,
        dedup_key=dedup_key,
        sequence=1,
        event_action=action,
        severity=severity,
        escalation_class=EscalationClass.REPORT_SPIKE,
        summary="test escalation",
        labels=EscalationLabels(broadcast_id=broadcast_id, category=Category.HARASSMENT, team=team),
        evidence=EvidenceV2(
            reports=1,
            distinct_reporters=1,
            weighted_reporters=1.0,
            viewers=None,
            expected_reports=0,
            window_start=moment,
            window_end=moment,
            leading_category=Category.HARASSMENT,
            categories=[],
            trust_mix=TrustMix(trusted=0.0, ordinary=1.0, suspect=0.0, unknown=0.0),
            coordinated_share=0.0,
            sample_report_ids=[],
            rules=[],
        ),
        detected_at=moment,
        starts_at=moment,
        policy_version="p",
    )
