"""What makes each incident unambiguous, written as checks over the emitted lines.

The generator builds every incident to pass these; the tests run them on every incident
of several seeds, so an incident can never be undetectable by construction. Counts use
true (made) times and each report once, whatever its retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import ScenarioMessage

SMALL_SURGE_REPORTERS = 10
SMALL_SURGE_RATIO = 8.0
LARGE_SURGE_RATIO = 10.0
RAMP_RATIO = 5.0


class Flavour(StrEnum):
    PLAIN = "plain"
    CLOCK_AHEAD = "clock_ahead"
    NO_REPORTER = "no_reporter"
    LATE = "late"
    NO_VIEWER_COUNT = "no_viewer_count"
    LARGE = "large"


@dataclass(frozen=True, slots=True)
class IncidentTruth:
    """What the generator meant. ``baseline_per_minute`` is the broadcast's expected
    ordinary reports per minute in ``categories`` (at onset; for a ramp, at its highest
    over the plateau). Times are epoch seconds."""

    name: str
    kind: LabelKind
    broadcast_id: str
    categories: tuple[str, ...]
    onset: float
    baseline_per_minute: float
    flavour: Flavour = Flavour.PLAIN
    plateau: tuple[float, float] | None = None
    climb_seconds: float = 0.0
    within: float | None = None
    """For a child-safety report inside a surge: that surge's onset."""


@dataclass(frozen=True, slots=True)
class Record:
    """One report as the log tells it (first copy), with the fields the checks read."""

    report_id: str
    broadcast_id: str
    reporter_id: str
    category: str
    made: float
    delivered: float
    kind: str
    incident: str | None
    reporter: dict[str, Any] | None


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def records_of(messages: Iterable[ScenarioMessage]) -> list[Record]:
    """Each labelled report once (its first copy); malformed lines are skipped."""
    seen: dict[str, Record] = {}
    for message in messages:
        try:
            payload = orjson.loads(message.value)
        except orjson.JSONDecodeError:
            continue
        label = payload.get("label")
        if label is None or payload["report_id"] in seen:
            continue
        seen[payload["report_id"]] = Record(
            report_id=payload["report_id"],
            broadcast_id=payload["broadcast_id"],
            reporter_id=payload["reporter_id"],
            category=payload["category"],
            made=_time(label.get("made_at") or payload["reported_at"]),
            delivered=payload["kafka_timestamp_ms"] / 1000,
            kind=label["kind"],
            incident=label.get("incident"),
            reporter=payload.get("reporter"),
        )
    return list(seen.values())


def _ordinary(records: list[Record], truth: IncidentTruth, begin: float, end: float) -> int:
    return sum(
        1
        for r in records
        if r.incident is None and r.category in truth.categories and begin <= r.made < end
    )


def _had_ordinary_before(records: list[Record], truth: IncidentTruth) -> bool:
    return any(r.incident is None and r.made < truth.onset for r in records)


def small_surge_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """>= 10 distinct reporters in its categories within 60 s of onset, and >= 8x what
    the broadcast ordinarily makes there in that minute (expected, or as it happened)."""
    end = truth.onset + 60.0
    reporters = {
        r.reporter_id
        for r in records
        if r.incident == truth.name and r.category in truth.categories and r.made < end
    }
    ordinary = max(truth.baseline_per_minute, _ordinary(records, truth, truth.onset, end))
    return len(reporters) >= max(SMALL_SURGE_REPORTERS, SMALL_SURGE_RATIO * ordinary)


def large_surge_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """The category's count is >= 10x its ordinary rate in each of the two minutes after
    onset."""
    for minute in range(2):
        begin = truth.onset + 60.0 * minute
        count = sum(
            1 for r in records if r.category in truth.categories and begin <= r.made < begin + 60.0
        )
        if count < LARGE_SURGE_RATIO * truth.baseline_per_minute:
            return False
    return True


def ramp_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """Climbs over 5-15 minutes (more excess in the climb's second half than its first),
    then holds >= 5x the ordinary rate for at least two minutes."""
    if truth.plateau is None or not 300.0 <= truth.climb_seconds <= 900.0:
        return False
    begin, end = truth.plateau
    if end - begin < 120.0:
        return False
    in_plateau = sum(1 for r in records if r.category in truth.categories and begin <= r.made < end)
    middle = (truth.onset + begin) / 2
    excess = [r.made for r in records if r.incident == truth.name]
    first_half = sum(1 for at in excess if at < middle)
    second_half = sum(1 for at in excess if middle <= at < begin)
    rate = in_plateau / ((end - begin) / 60.0)
    return second_half >= max(1, first_half) and rate >= RAMP_RATIO * truth.baseline_per_minute


def child_safety_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """One report, in child_safety, by a credible trusted flagger; inside a surge, a
    minute or more after that surge's onset."""
    own = [r for r in records if r.incident == truth.name]
    if len(own) != 1 or own[0].category != "child_safety" or own[0].reporter is None:
        return False
    info = own[0].reporter
    credible = (
        info.get("trusted_flagger") is True
        and info.get("trust", 0.0) >= 0.9
        and info.get("account_age_days", 0) >= 180
        and info.get("was_viewing") is True
    )
    return credible and (truth.within is None or truth.onset >= truth.within + 60.0)


def campaign_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """15-60 accounts (and a few viewers joining in) in one or two categories within
    three minutes; most of those whose age is known are new."""
    own = [r for r in records if r.incident == truth.name]
    accounts = {r.reporter_id for r in own}
    known = {r.reporter_id: r.reporter["account_age_days"] for r in own if r.reporter is not None}
    new = [age for age in known.values() if age < 7]
    span = max(r.made for r in own) - min(r.made for r in own)
    categories = {r.category for r in own}
    return (
        15 <= len(accounts) <= 70
        and span <= 180.0
        and len(categories) <= 2
        and 2 * len(new) >= len(known)
    )


def incident_holds(records: list[Record], truth: IncidentTruth) -> bool:
    """``records`` are the broadcast's; every incident also needs ordinary reports before
    it (the broadcast had been live a while), except a campaign."""
    if truth.kind is LabelKind.COORDINATED:
        return campaign_holds(records, truth)
    if not _had_ordinary_before(records, truth):
        return False
    if truth.kind is LabelKind.RAMP:
        return ramp_holds(records, truth)
    if truth.kind is LabelKind.CHILD_SAFETY:
        return child_safety_holds(records, truth)
    if truth.flavour is Flavour.LARGE:
        return large_surge_holds(records, truth)
    return small_surge_holds(records, truth)
