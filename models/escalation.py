"""Escalation v1: what on-call tools and downstream services receive.

Modelled on PagerDuty Events v2 and Alertmanager so that existing on-call tooling
can consume it with a thin adapter:

* ``dedup_key`` names one incident; every event of that incident carries it and it
  is the Kafka key, so an incident's events stay ordered on one partition;
* ``event_action`` is ``trigger`` (once per incident), ``update`` (severity rose,
  or a repeat interval passed) or ``resolve``;
* ``sequence`` starts at 1 with the trigger and rises by one per event of the
  incident, so a consumer can drop duplicates and reorderings by keeping the
  highest sequence it has seen per ``dedup_key``;
* ``event_id`` is derived from ``dedup_key`` and ``sequence``: a re-sent event
  (after a worker crash) carries the same id as the original.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.report import Category, MediaType, Platform

SCHEMA_VERSION: Literal[1] = 1
MAX_SAMPLE_REPORT_IDS = 20


class EventAction(StrEnum):
    TRIGGER = "trigger"
    UPDATE = "update"
    RESOLVE = "resolve"


class Severity(StrEnum):
    """PagerDuty severities. ``critical`` and ``error`` page a person."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; lets the lifecycle compare severities."""
        return _SEVERITY_RANK[self]

    @property
    def pages(self) -> bool:
        return self in (Severity.CRITICAL, Severity.ERROR)

    def raised(self) -> Severity:
        """One level up (critical stays critical): the high-profile bump."""
        rank = min(self.rank + 1, max(_SEVERITY_RANK.values()))
        return next(severity for severity, r in _SEVERITY_RANK.items() if r == rank)


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.WARNING: 1,
    Severity.ERROR: 2,
    Severity.CRITICAL: 3,
}


class EscalationClass(StrEnum):
    """What kind of signal opened the incident."""

    REPORT_SPIKE = "report_spike"
    CRITICAL_REPORT = "critical_report"
    REPORT_RAMP = "report_ramp"
    COORDINATED_REPORTING = "coordinated_reporting"

    @property
    def is_abuse(self) -> bool:
        """Coordinated reporting is a finding about the reporters, not about the broadcast."""
        return self is not EscalationClass.COORDINATED_REPORTING


class RuleFiring(BaseModel):
    """One detector's verdict with the figures it used, so on-call can see why."""

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="Detector name, e.g. audience_spike.")
    fired: bool
    figures: dict[str, float | int | str | bool] = Field(default_factory=dict)
    reason: str = Field(description="One human sentence: why it fired or not.")


class EscalationLabels(BaseModel):
    """Low-cardinality routing labels (broadcast ids are labels here, not in metrics)."""

    model_config = ConfigDict(frozen=True)

    broadcast_id: str
    broadcaster_id: str | None = None
    category: Category
    platform: Platform | None = None
    media_type: MediaType | None = None
    region: str | None = None
    team: str


class Evidence(BaseModel):
    """The window the decision looked at."""

    model_config = ConfigDict(frozen=True)

    reports: Annotated[int, Field(ge=0)]
    distinct_reporters: Annotated[int, Field(ge=0)]
    viewers: Annotated[int, Field(ge=0)] | None
    expected_reports: Annotated[float, Field(ge=0)]
    window_start: AwareDatetime
    window_end: AwareDatetime
    sample_report_ids: list[str] = Field(max_length=MAX_SAMPLE_REPORT_IDS)
    rules: list[RuleFiring]


class Escalation(BaseModel):
    """One event of an incident's lifecycle, JSON on ``<prefix><team>``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(description="UUID derived from dedup_key and sequence.")
    dedup_key: str
    sequence: Annotated[int, Field(ge=1)]
    event_action: EventAction
    severity: Severity
    escalation_class: EscalationClass = Field(alias="class")
    summary: Annotated[str, Field(max_length=1024)]
    source: str = "spikewatch"
    labels: EscalationLabels
    evidence: Evidence
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
