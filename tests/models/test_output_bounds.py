"""The largest escalation (v2) and the largest on-call timeline fit a record, by construction.

Every list of an escalation is bounded by its contract (``max_length``); this builds
the escalation with every list full and every string at its longest, of the
character JSON escapes to six bytes, and checks it fits Faust's producer limit
with its longest key. The one part the contract leaves open is a rule's figures
and sentence, written by our own detectors: they are taken here far above what
any detector writes (the worker still sizes every escalation before sending it,
and dead-letters one that does not fit: tests/faults/test_poison_pills.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from models.acknowledgement import MAX_DEDUP_KEY_LENGTH
from models.bounds import DEFAULT_PRODUCER_MAX_REQUEST_BYTES, fits
from models.escalation import (
    MAX_SAMPLE_REPORT_IDS,
    EscalationClass,
    EscalationLabels,
    EventAction,
    RuleFiring,
    Severity,
)
from models.escalation_v2 import (
    MAX_RELATED,
    MAX_RULES,
    MAX_SERIES_POINTS,
    MAX_SUMMARY_LENGTH,
    CategoryEvidence,
    EscalationV2,
    EvidenceV2,
    SeriesPoint,
    TrustMix,
)
from models.report import MAX_ID_LENGTH, MAX_REGION_LENGTH, Category, MediaType, Platform
from oncall.timelines import IncidentTimeline, Resolver

WIDEST = "\x00"
WIDEST_FLOAT = -2.2250738585072014e-308
WIDEST_TIME = datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
FIGURES_PER_RULE = 32
"""Detectors write a handful of figures; this is several times more."""
FIGURE_NAME_LENGTH = 64
RULE_REASON_LENGTH = 1024


def widest(length: int) -> str:
    return WIDEST * length


def largest_escalation() -> EscalationV2:
    rule = RuleFiring(
        rule=widest(FIGURE_NAME_LENGTH),
        fired=False,
        figures={
            widest(FIGURE_NAME_LENGTH - 2) + f"{n:02d}": WIDEST_FLOAT
            for n in range(FIGURES_PER_RULE)
        },
        reason=widest(RULE_REASON_LENGTH),
    )
    category = max(Category, key=lambda c: len(c.value))
    return EscalationV2(
        event_id=widest(36),
        dedup_key=widest(MAX_DEDUP_KEY_LENGTH),
        sequence=2**63 - 1,
        event_action=max(EventAction, key=lambda a: len(a.value)),
        severity=max(Severity, key=lambda s: len(s.value)),
        escalation_class=max(EscalationClass, key=lambda c: len(c.value)),
        summary=widest(MAX_SUMMARY_LENGTH),
        source=widest(64),
        labels=EscalationLabels(
            broadcast_id=widest(MAX_ID_LENGTH),
            broadcaster_id=widest(MAX_ID_LENGTH),
            category=category,
            platform=max(Platform, key=lambda p: len(p.value)),
            media_type=max(MediaType, key=lambda m: len(m.value)),
            region=widest(MAX_REGION_LENGTH),
            team=widest(63),
        ),
        evidence=EvidenceV2(
            reports=2**63 - 1,
            distinct_reporters=2**63 - 1,
            weighted_reporters=WIDEST_FLOAT * -1,
            viewers=2**63 - 1,
            expected_reports=WIDEST_FLOAT * -1,
            window_start=WIDEST_TIME,
            window_end=WIDEST_TIME,
            leading_category=category,
            categories=[
                CategoryEvidence(
                    category=c,
                    reports=2**63 - 1,
                    distinct_reporters=2**63 - 1,
                    weighted_reporters=-WIDEST_FLOAT,
                    expected_reports=-WIDEST_FLOAT,
                )
                for c in Category
            ],
            trust_mix=TrustMix(
                trusted=0.1234567890123456,
                ordinary=0.1234567890123456,
                suspect=0.1234567890123456,
                unknown=0.1234567890123456,
            ),
            coordinated_share=0.1234567890123456,
            sample_report_ids=[widest(MAX_ID_LENGTH)] * MAX_SAMPLE_REPORT_IDS,
            rules=[rule] * MAX_RULES,
            series=[
                SeriesPoint(
                    bucket_start=WIDEST_TIME,
                    weighted_reporters=-WIDEST_FLOAT,
                    expected=-WIDEST_FLOAT,
                )
            ]
            * MAX_SERIES_POINTS,
        ),
        related=[widest(MAX_DEDUP_KEY_LENGTH)] * MAX_RELATED,
        runbook_url=widest(2048),
        detected_at=WIDEST_TIME,
        starts_at=WIDEST_TIME,
        ends_at=WIDEST_TIME,
        policy_version=widest(64),
        shadow=False,
    )


def test_the_largest_escalation_fits_the_producer_limit_with_its_longest_key() -> None:
    escalation = largest_escalation()
    value = escalation.to_json_bytes()
    key = escalation.dedup_key.encode()
    assert EscalationV2.model_validate_json(value) == escalation
    assert fits(DEFAULT_PRODUCER_MAX_REQUEST_BYTES, key, value), len(value)


def test_one_more_of_anything_bounded_is_refused_by_the_contract() -> None:
    """The bound holds only because the contract refuses longer lists: it must."""
    for path in (
        ("evidence", "rules"),
        ("evidence", "series"),
        ("evidence", "sample_report_ids"),
        ("related",),
    ):
        document = largest_escalation().model_dump(by_alias=True)
        container = document
        for part in path[:-1]:
            container = container[part]
        container[path[-1]] = [*container[path[-1]], container[path[-1]][0]]
        try:
            EscalationV2.model_validate(document)
        except ValueError:
            continue
        raise AssertionError(f"{'.'.join(path)} accepted one more item")


def test_the_largest_incident_timeline_is_small() -> None:
    """Timelines are keyed by an acknowledgement's bounded dedup_key: far below any limit."""
    timeline = IncidentTimeline(
        dedup_key=widest(MAX_DEDUP_KEY_LENGTH),
        first_seen_at=WIDEST_FLOAT,
        team=widest(63),
        severity=max(Severity, key=lambda s: len(s.value)),
        triggered_at=WIDEST_FLOAT,
        acknowledged_at=WIDEST_FLOAT,
        resolved_at=WIDEST_FLOAT,
        resolved_by=max(Resolver, key=lambda r: len(r.value)),
        sla_breached=False,
    )
    value = timeline.to_bytes()
    assert IncidentTimeline.from_bytes(value) == timeline
    assert fits(16 * 1024, timeline.dedup_key.encode(), value), len(value)
