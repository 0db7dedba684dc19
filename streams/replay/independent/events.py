"""Reports as they were made, and how they reach Kafka: the JSON line, the delivery
delay, the client's retries, and the odd broken line.

Delivery depends on the person (a flaky connection is late often) and, for one surge
per seed, on the incident (a regional ingestion backlog delays nearly all of it).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from streams.replay.independent.broadcasts import Broadcast, ViewerMode
from streams.replay.independent.people import Person
from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import ScenarioMessage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FLAKY_LATE_SHARE = 0.55
OTHER_LATE_SHARE = 0.1
BACKLOG_LATE_SHARE = 0.95
RETRY_SHARE = 0.04


@dataclass(frozen=True, slots=True)
class Report:
    """``made`` is the true time, in seconds from the run's start."""

    made: float
    broadcast: Broadcast
    person: Person
    category: str
    kind: LabelKind
    incident: str | None = None
    onset: float | None = None
    viewing: bool = True
    backlog: bool = False
    """Delivered through a lagging ingestion queue: 10-45 s late."""


def stamp(ms: int, offset_minutes: int | None = None) -> str:
    """RFC 3339 with milliseconds: UTC as ``Z``, or the device's local offset."""
    if offset_minutes is None:
        return (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")[:-6] + "Z"
    zone = timezone(timedelta(minutes=offset_minutes))
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(zone).isoformat(timespec="milliseconds")


def _delay_ms(rng: random.Random, report: Report) -> int:
    if report.backlog and rng.random() < BACKLOG_LATE_SHARE:
        return round(rng.uniform(10.0, 45.0) * 1000)
    late = FLAKY_LATE_SHARE if report.person.flaky else OTHER_LATE_SHARE
    if rng.random() < late:
        return round(math.exp(rng.uniform(math.log(5.0), math.log(60.0))) * 1000)
    return max(5, min(4000, round(math.exp(rng.gauss(math.log(250.0), 0.7)))))


def _viewer_count(rng: random.Random, report: Report) -> int | None:
    broadcast = report.broadcast
    if broadcast.viewer_mode is ViewerMode.NEVER:
        return None
    if broadcast.viewer_mode is ViewerMode.SOMETIMES and rng.random() < 0.5:
        return None
    return max(0, round(broadcast.viewers(report.made) * rng.uniform(0.98, 1.02)))


def _reporter(rng: random.Random, report: Report) -> dict[str, Any]:
    person = report.person
    info: dict[str, Any] = {"account_age_days": person.age_days, "trust": person.trust}
    if person.trusted_flagger or rng.random() < 0.6:
        info["trusted_flagger"] = person.trusted_flagger
    info["was_viewing"] = report.viewing
    return info


def _payload(rng: random.Random, report: Report, start: float, made_ms: int) -> dict[str, Any]:
    person, broadcast = report.person, report.broadcast
    skew_ms = round(person.skew * 1000)
    payload: dict[str, Any] = {
        "schema_version": 1,
        "report_id": f"r{rng.getrandbits(96):024x}",
        "broadcast_id": broadcast.id,
        "reporter_id": person.id,
        "category": report.category,
        "reported_at": stamp(made_ms + skew_ms, person.utc_offset_minutes),
    }
    if broadcast.broadcaster_id is not None:
        payload["broadcaster_id"] = broadcast.broadcaster_id
    if broadcast.platform is not None:
        payload["platform"] = broadcast.platform
    if rng.random() < 0.7:
        payload["media_type"] = "live_video"
    viewers = _viewer_count(rng, report)
    if viewers is not None:
        payload["viewer_count"] = viewers
    if person.sends_info:
        payload["reporter"] = _reporter(rng, report)
    if person.region is not None:
        payload["region"] = person.region
    if broadcast.language is not None:
        payload["language"] = broadcast.language
    label: dict[str, Any] = {"kind": report.kind.value}
    if report.incident is not None:
        label["incident"] = report.incident
    if report.onset is not None:
        label["onset"] = stamp(round((start + report.onset) * 1000))
    if skew_ms:
        label["made_at"] = stamp(made_ms)
    payload["label"] = label
    return payload


def encode(rng: random.Random, reports: list[Report], start: float) -> list[ScenarioMessage]:
    """Every report as it reached Kafka (with its retries), in order of arrival."""
    messages: list[ScenarioMessage] = []
    for report in reports:
        made_ms = round((start + report.made) * 1000)
        payload = _payload(rng, report, start, made_ms)
        arrived = made_ms + _delay_ms(rng, report)
        copies = [arrived]
        if rng.random() < RETRY_SHARE:
            for _ in range(rng.choices((1, 2, 3), (0.8, 0.15, 0.05))[0]):
                copies.append(copies[-1] + round(rng.uniform(2.0, 30.0) * 1000))
        key = report.broadcast.id.encode()
        for ms in copies:
            payload["kafka_timestamp_ms"] = ms
            messages.append(ScenarioMessage(made_ms / 1000, ms / 1000, key, orjson.dumps(payload)))
    messages.extend(_malformed(rng, messages))
    messages.sort(key=lambda m: m.delivered_at)
    return messages


def _malformed(rng: random.Random, sample: list[ScenarioMessage]) -> list[ScenarioMessage]:
    """Truncated writes and producers that forgot required fields: what a real input
    topic holds now and then."""
    broken: list[ScenarioMessage] = []
    if not sample:
        return broken
    for _ in range(rng.randint(4, 10)):
        model = rng.choice(sample)
        if rng.random() < 0.5:
            value = model.value[: rng.randint(10, len(model.value) - 2)]
        else:
            payload = orjson.loads(model.value)
            for name in ("label", "kafka_timestamp_ms"):
                payload.pop(name)
            for name in rng.sample(("report_id", "category", "reported_at", "broadcast_id"), 2):
                payload.pop(name)
            value = orjson.dumps(payload)
        broken.append(ScenarioMessage(model.delivered_at, model.delivered_at, model.key, value))
    return broken
