"""What the console's pages show, computed from incident records and a clock.

Every function takes the records and ``now`` and returns plain rows, so a page's
content can be tested without a server and the shell only renders it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from alerting.incidents import DECIDED_TOO_LATE_RULE
from alerting.policy import OncallPolicy
from models.escalation import Severity
from models.report import Category
from models.verdict import VerdictKind
from oncall.console.incidents import IncidentRecord

MAX_HISTORY_ROWS = 200


@dataclass(frozen=True, slots=True)
class OpenFilter:
    """Empty fields match everything."""

    team: str = ""
    region: str = ""
    severity: Severity | None = None

    def matches(self, record: IncidentRecord) -> bool:
        return (
            (not self.team or record.team == self.team)
            and (not self.region or record.region == self.region)
            and (self.severity is None or record.severity is self.severity)
        )


@dataclass(frozen=True, slots=True)
class OpenRow:
    dedup_key: str
    severity: Severity
    team: str
    region: str | None
    broadcast_id: str
    category: Category | None
    reports: int
    expected_reports: float
    age_seconds: float
    acknowledged: bool
    sla_seconds_left: float | None
    """None when the severity has no SLA or it stopped (acknowledged); negative once missed."""
    decided_late: bool
    """Its latest event was decided too late to page (a backlog): held at a severity that
    pages nobody, and waiting for a person to look (``SpikewatchEscalationsDecidedLate``)."""


def sla_seconds_left(record: IncidentRecord, now: datetime, policy: OncallPolicy) -> float | None:
    """Time left to acknowledge under the policy's SLA for the incident's severity."""
    sla = policy.ack_sla_seconds.get(record.severity)
    started = record.clock_started_at
    if sla is None or started is None or record.acknowledged_at is not None:
        return None
    return sla - (now - started).total_seconds()


def open_rows(
    records: Iterable[IncidentRecord], now: datetime, policy: OncallPolicy, only: OpenFilter
) -> list[OpenRow]:
    """Open incidents, most severe first, then the least time left, then the oldest."""
    rows = [
        _open_row(record, now, policy)
        for record in records
        if record.is_open and only.matches(record)
    ]
    rows.sort(
        key=lambda row: (
            -row.severity.rank,
            row.sla_seconds_left if row.sla_seconds_left is not None else float("inf"),
            -row.age_seconds,
        )
    )
    return rows


def _open_row(record: IncidentRecord, now: datetime, policy: OncallPolicy) -> OpenRow:
    evidence = record.evidence
    started = record.triggered_at or now
    return OpenRow(
        dedup_key=record.dedup_key,
        severity=record.severity,
        team=record.team,
        region=record.region,
        broadcast_id=record.broadcast_id,
        category=record.category,
        reports=evidence.reports if evidence else 0,
        expected_reports=evidence.expected_reports if evidence else 0.0,
        age_seconds=max(0.0, (now - started).total_seconds()),
        acknowledged=record.acknowledged_at is not None,
        sla_seconds_left=sla_seconds_left(record, now, policy),
        decided_late=evidence is not None
        and bool(evidence.rules)
        and evidence.rules[0].rule == DECIDED_TOO_LATE_RULE,
    )


def filter_choices(records: Iterable[IncidentRecord]) -> tuple[list[str], list[str]]:
    """Teams and regions seen on open incidents, for the filter menus."""
    open_records = [record for record in records if record.is_open]
    teams = sorted({record.team for record in open_records if record.team})
    regions = sorted({record.region for record in open_records if record.region})
    return teams, regions


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Empty fields match everything; ``text`` fields match exactly (ids are not prose)."""

    broadcast_id: str = ""
    broadcaster_id: str = ""
    team: str = ""
    category: Category | None = None
    day: date | None = None

    def matches(self, record: IncidentRecord) -> bool:
        started = record.triggered_at
        return (
            (not self.broadcast_id or record.broadcast_id == self.broadcast_id)
            and (not self.broadcaster_id or record.broadcaster_id == self.broadcaster_id)
            and (not self.team or record.team == self.team)
            and (self.category is None or record.category is self.category)
            and (self.day is None or (started is not None and started.date() == self.day))
        )


def history(records: Iterable[IncidentRecord], query: HistoryQuery) -> list[IncidentRecord]:
    """Resolved incidents matching the query, newest first, at most a page of them."""
    found = [
        record
        for record in records
        if record.escalated and record.resolved_at is not None and query.matches(record)
    ]
    found.sort(key=lambda record: record.resolved_at or datetime.min, reverse=True)
    return found[:MAX_HISTORY_ROWS]


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: date
    pages: int
    judged: int
    confirmed: int
    median_seconds_to_acknowledge: float | None

    @property
    def confirmed_share(self) -> float | None:
        """Of the pages someone judged, the share judged real abuse."""
        return self.confirmed / self.judged if self.judged else None


def daily_summary(records: Iterable[IncidentRecord], now: datetime, days: int) -> list[DaySummary]:
    """One row per day (UTC, oldest first) for the ``days`` days ending today."""
    first_day = now.date() - timedelta(days=days - 1)
    pages: dict[date, list[IncidentRecord]] = {
        first_day + timedelta(days=offset): [] for offset in range(days)
    }
    for record in records:
        started = record.clock_started_at
        if record.paged and started is not None:
            day = started.date()
            if day in pages:
                pages[day].append(record)
    return [_summarise(day, paged) for day, paged in pages.items()]


def _summarise(day: date, paged: list[IncidentRecord]) -> DaySummary:
    judged = [record.verdict for record in paged if record.verdict is not None]
    waits = [
        (acknowledged - started).total_seconds()
        for record in paged
        if (acknowledged := record.acknowledged_at) is not None
        and (started := record.clock_started_at) is not None
    ]
    return DaySummary(
        day=day,
        pages=len(paged),
        judged=len(judged),
        confirmed=sum(1 for verdict in judged if verdict.verdict is VerdictKind.CONFIRMED),
        median_seconds_to_acknowledge=max(0.0, statistics.median(waits)) if waits else None,
    )


@dataclass(frozen=True, slots=True)
class ConfirmedShare:
    team: str
    category: Category
    judged: int
    confirmed: int

    @property
    def share(self) -> float:
        return self.confirmed / self.judged if self.judged else 0.0


def confirmed_shares(
    records: Iterable[IncidentRecord], now: datetime, horizon: timedelta
) -> list[ConfirmedShare]:
    """Per team and leading category: of the pages judged within ``horizon``, how many were real.

    Only pages count (a warning woke nobody) and only judged ones (an unjudged
    page is neither right nor wrong yet).
    """
    tally: dict[tuple[str, Category], list[int]] = {}
    for record in records:
        verdict = record.verdict
        if not record.paged or verdict is None or record.category is None:
            continue
        if now - verdict.decided_at > horizon:
            continue
        counts = tally.setdefault((record.team, record.category), [0, 0])
        counts[0] += 1
        counts[1] += verdict.verdict is VerdictKind.CONFIRMED
    return [
        ConfirmedShare(team=team, category=category, judged=judged, confirmed=confirmed)
        for (team, category), (judged, confirmed) in sorted(tally.items())
    ]


def forgettable(record: IncidentRecord, now: datetime, keep: timedelta) -> bool:
    """Resolved longer ago than ``keep`` (or never escalated and as old): drop from the store."""
    if record.resolved_at is not None:
        return now - record.resolved_at > keep
    if not record.escalated:
        seen = [entry.at for entry in record.timeline]
        return not seen or now - max(seen) > keep
    return False
