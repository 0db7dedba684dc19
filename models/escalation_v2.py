"""Escalation v2: one incident per broadcast (per routed team), evidence across categories.

Why a new version: v1 opened one incident per (broadcast, category), so viewers
filing one abusive broadcast under several categories paged on-call several
times for one thing. v2 keys the incident by broadcast and team, names its
*leading* category in ``labels.category`` and lists every category's figures in
``evidence.categories``. The rest of v1's guarantees hold unchanged:

* ``dedup_key`` names one incident and is the Kafka key, so an incident's events
  stay ordered on one partition; it is stable across worker restarts;
* ``event_action`` is ``trigger`` (once per incident), ``update`` (severity rose,
  a category joined, a spike or credible report first fired on an incident only a
  ramp had seen, or a repeat interval passed) or ``resolve``;
* ``sequence`` starts at 1 and rises by one per event of the incident;
* ``event_id`` is derived from ``dedup_key`` and ``sequence``.

Two incidents can be open on one broadcast only when a strictly more severe
category routes to another team (e.g. a child-safety report on a broadcast
already in a harassment incident); each then names the other in ``related``.

Evidence fields beyond v1 (``categories``, ``trust_mix``, ``coordinated_share``,
``series``) exist so that an on-call person can see *why* it paged without
reading the worker's state. ``series`` is optional: consumers must accept its
absence (a resolve carries none). Every list is bounded so that one event always
fits a Kafka record (see ``MAX_*`` below).

Migrating a consumer from v1: read ``schema_version`` first and parse with
:func:`parse_escalation`, which accepts both versions and returns v2 (a v1 event
becomes a v2 event with one category). Upgrade consumers before workers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.escalation import (
    MAX_SAMPLE_REPORT_IDS,
    Escalation,
    EscalationClass,
    EscalationLabels,
    EventAction,
    RuleFiring,
    Severity,
)
from models.report import Category

SCHEMA_VERSION: Literal[2] = 2
MAX_SERIES_POINTS = 360
"""A window of up to an hour at ten-second buckets: the chart the console draws."""
MAX_RULES = 32
MAX_RELATED = 8
MAX_SUMMARY_LENGTH = 1024

Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class CategoryEvidence(BaseModel):
    """One abuse category's share of the incident's window."""

    model_config = ConfigDict(frozen=True)

    category: Category
    reports: Count
    distinct_reporters: Count
    weighted_reporters: NonNegative = Field(
        description="Distinct reporters weighted by trust (suspect reporters weigh 0)."
    )
    expected_reports: NonNegative = Field(
        description="What the audience and this category's base rate explain over the window."
    )


class TrustMix(BaseModel):
    """Shares of the window's distinct reporters by standing; they sum to 1 (or all 0)."""

    model_config = ConfigDict(frozen=True)

    trusted: Share = Field(description="Trusted flaggers and high-trust accounts.")
    ordinary: Share
    suspect: Share = Field(description="New, low-trust or not watching: weigh 0 as evidence.")
    unknown: Share = Field(description="Reports that carried no reporter object.")


class SeriesPoint(BaseModel):
    """One bucket of the chart: weighted reporters against what the audience explains."""

    model_config = ConfigDict(frozen=True)

    bucket_start: AwareDatetime
    weighted_reporters: NonNegative
    expected: NonNegative


class EvidenceV2(BaseModel):
    """The window the decision looked at, across every abuse category of the broadcast."""

    model_config = ConfigDict(frozen=True)

    reports: Count
    distinct_reporters: Count = Field(
        description=(
            "Each reporter counted once per broadcast, across the abuse categories (those"
            " whose max_severity pages), or within the incident's category if it is low-harm."
        )
    )
    weighted_reporters: NonNegative
    viewers: Count | None
    expected_reports: NonNegative = Field(
        description="What the audience explains of the same reporters' categories."
    )
    window_start: AwareDatetime
    window_end: AwareDatetime
    leading_category: Category
    categories: list[CategoryEvidence] = Field(max_length=len(Category))
    trust_mix: TrustMix
    coordinated_share: Share = Field(
        description="Share of distinct reporters taking part in a synchronised suspect burst."
    )
    sample_report_ids: list[str] = Field(max_length=MAX_SAMPLE_REPORT_IDS)
    rules: list[RuleFiring] = Field(max_length=MAX_RULES)
    series: list[SeriesPoint] | None = Field(
        default=None,
        max_length=MAX_SERIES_POINTS,
        description="Optional per-bucket chart data, oldest first; absent on resolve.",
    )


class EscalationV2(BaseModel):
    """One event of a broadcast incident's lifecycle, JSON on ``<prefix><team>``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[2] = SCHEMA_VERSION
    event_id: str = Field(description="UUID derived from dedup_key and sequence.")
    dedup_key: Annotated[str, Field(min_length=1, max_length=512)]
    sequence: Annotated[int, Field(ge=1)]
    event_action: EventAction
    severity: Severity
    escalation_class: EscalationClass = Field(alias="class")
    summary: Annotated[str, Field(max_length=MAX_SUMMARY_LENGTH)]
    source: str = "spikewatch"
    labels: EscalationLabels = Field(description="labels.category is the leading category.")
    evidence: EvidenceV2
    related: list[str] = Field(
        default_factory=list,
        max_length=MAX_RELATED,
        description="dedup_keys of other open incidents on the same broadcast (other teams).",
    )
    runbook_url: Annotated[str, Field(max_length=2048)] | None = Field(
        default=None, description="The policy's runbook for the leading category."
    )
    detected_at: AwareDatetime = Field(
        description="When the decision was taken (event time of the deciding report in replay)."
    )
    starts_at: AwareDatetime = Field(description="When the incident began.")
    ends_at: AwareDatetime | None = Field(default=None, description="Set on resolve.")
    policy_version: str
    shadow: bool = Field(default=False, description="True when written by a shadow policy.")

    def to_json_bytes(self) -> bytes:
        """The wire form: aliases (``class``) and no nulls dropped, so the schema holds."""
        return self.model_dump_json(by_alias=True).encode()


def upgrade_v1(escalation: Escalation) -> EscalationV2:
    """A v1 event as v2: its one category leads, and what v1 did not record is zero."""
    evidence = escalation.evidence
    category = escalation.labels.category
    reporters = evidence.distinct_reporters
    return EscalationV2(
        event_id=escalation.event_id,
        dedup_key=escalation.dedup_key,
        sequence=escalation.sequence,
        event_action=escalation.event_action,
        severity=escalation.severity,
        escalation_class=escalation.escalation_class,
        summary=escalation.summary,
        source=escalation.source,
        labels=escalation.labels,
        evidence=EvidenceV2(
            reports=evidence.reports,
            distinct_reporters=reporters,
            weighted_reporters=float(reporters),
            viewers=evidence.viewers,
            expected_reports=evidence.expected_reports,
            window_start=evidence.window_start,
            window_end=evidence.window_end,
            leading_category=category,
            categories=[
                CategoryEvidence(
                    category=category,
                    reports=evidence.reports,
                    distinct_reporters=reporters,
                    weighted_reporters=float(reporters),
                    expected_reports=evidence.expected_reports,
                )
            ],
            trust_mix=TrustMix(trusted=0.0, ordinary=0.0, suspect=0.0, unknown=0.0),
            coordinated_share=0.0,
            sample_report_ids=evidence.sample_report_ids,
            rules=evidence.rules[:MAX_RULES],
        ),
        detected_at=escalation.detected_at,
        starts_at=escalation.starts_at,
        ends_at=escalation.ends_at,
        policy_version=escalation.policy_version,
        shadow=escalation.shadow,
    )


class _Versioned(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int


def parse_escalation(data: bytes | str) -> EscalationV2:
    """Read an escalation of either version from its wire form, as v2.

    Raises pydantic's ``ValidationError`` for anything that is neither.
    """
    version = _Versioned.model_validate_json(data).schema_version
    if version == 1:
        return upgrade_v1(Escalation.model_validate_json(data))
    return EscalationV2.model_validate_json(data)
