"""Escalation v2 events, acknowledgements and verdicts for console tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import EscalationClass, EscalationLabels, EventAction, RuleFiring, Severity
from models.escalation_v2 import (
    CategoryEvidence,
    EscalationV2,
    EvidenceV2,
    SeriesPoint,
    TrustMix,
)
from models.report import Category
from models.verdict import Verdict, VerdictKind

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def series(buckets: int = 12, start: datetime = T0) -> list[SeriesPoint]:
    """Flat expectation, reporters climbing from the middle on: a spike to draw."""
    return [
        SeriesPoint(
            bucket_start=start + timedelta(seconds=10 * index),
            weighted_reporters=0.5 if index < buckets // 2 else 2.0 * (index - buckets // 2 + 1),
            expected=0.5,
        )
        for index in range(buckets)
    ]


def evidence(at: datetime, *, with_series: bool = True, reports: int = 15) -> EvidenceV2:
    return EvidenceV2(
        reports=reports,
        distinct_reporters=12,
        weighted_reporters=9.5,
        viewers=800,
        expected_reports=1.25,
        window_start=at - timedelta(minutes=2),
        window_end=at,
        leading_category=Category.HARASSMENT,
        categories=[
            CategoryEvidence(
                category=Category.HARASSMENT,
                reports=reports - 3,
                distinct_reporters=10,
                weighted_reporters=8.0,
                expected_reports=1.0,
            ),
            CategoryEvidence(
                category=Category.HATEFUL_CONDUCT,
                reports=3,
                distinct_reporters=2,
                weighted_reporters=1.5,
                expected_reports=0.25,
            ),
        ],
        trust_mix=TrustMix(trusted=0.25, ordinary=0.5, suspect=0.125, unknown=0.125),
        coordinated_share=0.1,
        sample_report_ids=["r-1", "r-2"],
        rules=[
            RuleFiring(
                rule="audience_spike",
                fired=True,
                figures={"observed": 12, "expected": 1.25, "p_value": 1e-9},
                reason="12 distinct reporters where 1.25 were expected",
            ),
            RuleFiring(rule="coordination", fired=False, figures={"share": 0.1}, reason="no burst"),
        ],
        series=series(start=at - timedelta(minutes=2)) if with_series else None,
    )


def escalation_v2(
    dedup_key: str = "spikewatch:b1:t",
    action: EventAction = EventAction.TRIGGER,
    *,
    sequence: int = 1,
    severity: Severity = Severity.CRITICAL,
    at: datetime = T0,
    team: str = "trust-safety",
    region: str | None = "eu",
    broadcast_id: str = "b1",
    with_series: bool = True,
) -> EscalationV2:
    return EscalationV2(
        event_id=f"{dedup_key}/{sequence}",
        dedup_key=dedup_key,
        sequence=sequence,
        event_action=action,
        severity=severity,
        escalation_class=EscalationClass.REPORT_SPIKE,
        summary=f"report spike on {broadcast_id}",
        labels=EscalationLabels(
            broadcast_id=broadcast_id,
            broadcaster_id="caster-1",
            category=Category.HARASSMENT,
            region=region,
            team=team,
        ),
        evidence=evidence(at, with_series=with_series and action is not EventAction.RESOLVE),
        runbook_url="https://runbooks.example/harassment",
        detected_at=at,
        starts_at=at if action is EventAction.TRIGGER else T0,
        ends_at=at if action is EventAction.RESOLVE else None,
        policy_version="p1",
    )


def acknowledgement(
    dedup_key: str = "spikewatch:b1:t",
    action: AckAction = AckAction.ACKNOWLEDGED,
    at: datetime = T0 + timedelta(seconds=90),
) -> Acknowledgement:
    return Acknowledgement(
        schema_version=1,
        dedup_key=dedup_key,
        action=action,
        actor=Actor.HUMAN,
        acted_at=at,
        tool="pagerduty",
    )


def verdict(
    dedup_key: str = "spikewatch:b1:t",
    kind: VerdictKind = VerdictKind.CONFIRMED,
    at: datetime = T0 + timedelta(minutes=5),
) -> Verdict:
    return Verdict(dedup_key=dedup_key, verdict=kind, actor="p-abc", decided_at=at)
