"""Score a candidate policy against what people decided (Verdict v1), not synthetic labels.

Each verdict names a live incident by its ``dedup_key``. A candidate policy
replayed over the same reports opens its own incidents, whose keys match the
live ones only if they open at the same moment; so a judged incident counts as
*paged again* when the candidate pages the same broadcast within ``window``
seconds of the live incident's start (an exact key match also counts). The
broadcast and the start are read from spikewatch's key form
``spikewatch:<broadcast>:<category>[:<class>]:<start ms>`` (see
``alerting.incidents.dedup_key_for``); a verdict on a key of another form is
reported as unmatched, never guessed.

The figures:

* *kept*: confirmed incidents the candidate still pages;
* *missed*: confirmed incidents it no longer pages;
* *avoided*: false alarms and coordinated campaigns it no longer pages;
* *still paged*: false alarms and coordinated campaigns it pages anyway;
* duplicates say nothing about the policy and are only counted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.decode import Rejection, decode_verdict
from models.errors import SpikewatchError
from models.escalation import EscalationClass, EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category
from models.verdict import Verdict, VerdictKind
from streams.replay.session import ReplaySourceError, TopicRange, topic_messages

DEFAULT_WINDOW_SECONDS = 900.0
_CATEGORIES = "|".join(re.escape(c.value) for c in Category)
_TEAM = r"[a-z0-9][a-z0-9-]{0,62}"
_CLASSES = "|".join(re.escape(c.value) for c in EscalationClass)
_KEY = re.compile(
    rf"^spikewatch:(?P<broadcast>.+?):(?:{_CATEGORIES}|{_TEAM})(?::(?:{_CLASSES}))?:(?P<ms>\d+)$"
)
"""v1 keys name a category, v2 keys a team; the shortest broadcast id that fits wins, so a
class segment is never taken for a team."""


class VerdictSourceError(SpikewatchError):
    remedy = "give a JSON-lines file of Verdict v1 or the name of the verdict topic"


@dataclass(frozen=True, slots=True)
class JudgedIncident:
    dedup_key: str
    broadcast_id: str | None
    started_at: float | None
    verdict: VerdictKind


def judged(verdict: Verdict) -> JudgedIncident:
    found = _KEY.match(verdict.dedup_key)
    return JudgedIncident(
        dedup_key=verdict.dedup_key,
        broadcast_id=found["broadcast"] if found else None,
        started_at=int(found["ms"]) / 1000 if found else None,
        verdict=verdict.verdict,
    )


def latest_verdicts(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """One verdict per incident: the latest decision replaces earlier ones."""
    latest: dict[str, Verdict] = {}
    for verdict in verdicts:
        known = latest.get(verdict.dedup_key)
        if known is None or verdict.decided_at >= known.decided_at:
            latest[verdict.dedup_key] = verdict
    return list(latest.values())


@dataclass(frozen=True, slots=True)
class VerdictScore:
    judged: int
    confirmed: int
    unwanted: int
    duplicates: int
    kept: int
    missed: int
    avoided: int
    still_paged: int
    unmatched: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def line(self) -> str:
        return (
            f"against {self.judged} verdicts: kept {self.kept}/{self.confirmed} confirmed pages "
            f"(missed {self.missed}), avoided {self.avoided}/{self.unwanted} false alarms and "
            f"coordinated campaigns (still paged {self.still_paged}), "
            f"{self.duplicates} duplicates, {self.unmatched} verdicts on unknown keys"
        )


def score_verdicts(
    verdicts: Iterable[Verdict],
    escalations: Iterable[EscalationV2],
    window: float = DEFAULT_WINDOW_SECONDS,
) -> VerdictScore:
    pages = [
        escalation
        for escalation in escalations
        if escalation.event_action is EventAction.TRIGGER and escalation.severity.pages
    ]
    keys = {page.dedup_key for page in pages}
    counts = dict.fromkeys(("confirmed", "unwanted", "kept", "missed", "avoided", "still"), 0)
    duplicates = unmatched = 0
    incidents = [judged(verdict) for verdict in latest_verdicts(verdicts)]
    for incident in incidents:
        if incident.verdict is VerdictKind.DUPLICATE:
            duplicates += 1
            continue
        if incident.broadcast_id is None and incident.dedup_key not in keys:
            unmatched += 1
            continue
        paged = incident.dedup_key in keys or any(
            _same_incident(incident, page, window) for page in pages
        )
        if incident.verdict.page_was_wanted:
            counts["confirmed"] += 1
            counts["kept" if paged else "missed"] += 1
        else:
            counts["unwanted"] += 1
            counts["still" if paged else "avoided"] += 1
    return VerdictScore(
        judged=len(incidents),
        confirmed=counts["confirmed"],
        unwanted=counts["unwanted"],
        duplicates=duplicates,
        kept=counts["kept"],
        missed=counts["missed"],
        avoided=counts["avoided"],
        still_paged=counts["still"],
        unmatched=unmatched,
    )


def _same_incident(incident: JudgedIncident, page: EscalationV2, window: float) -> bool:
    if page.labels.broadcast_id != incident.broadcast_id or incident.started_at is None:
        return False
    return abs(page.starts_at.timestamp() - incident.started_at) <= window


def verdicts_from_lines(lines: Iterable[bytes], source: str) -> list[Verdict]:
    """Every line a Verdict v1; a bad one stops the run, naming its line (labels must be right)."""
    verdicts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        decoded = decode_verdict(line)
        if isinstance(decoded, Rejection):
            raise VerdictSourceError(f"{source} line {number}: {decoded.detail}")
        verdicts.append(decoded)
    return verdicts


def load_verdicts(source: str, bootstrap: str, **options: Any) -> tuple[list[Verdict], int]:
    """Verdicts from a file (when ``source`` names one) or a topic read to its end.

    Returns the verdicts and how many unreadable messages the topic held (the
    console dead-letters those already, so they are counted and skipped; a
    file is a person's hand-made labels, so a bad line there stops the run).
    ``options`` are the Kafka security options, as for the report topic.
    """
    path = Path(source)
    if path.is_file():
        return verdicts_from_lines(path.read_bytes().splitlines(), source), 0
    if names_a_file(source):
        raise VerdictSourceError(f"verdicts file {source}: no such file")
    return asyncio.run(_verdicts_from_topic(source, bootstrap, **options))


def names_a_file(source: str) -> bool:
    """Whether ``source`` can only be a file's name: a path, or a JSON-lines suffix. A Kafka
    topic's name has no slash, and a mistyped file name would otherwise be read as a topic
    and fail as an unreachable broker or an empty topic."""
    return "/" in source or source.endswith((".jsonl", ".json", ".ndjson"))


async def _verdicts_from_topic(
    source: str, bootstrap: str, **options: Any
) -> tuple[list[Verdict], int]:
    verdicts: list[Verdict] = []
    unreadable = 0
    try:
        async for message in topic_messages(
            bootstrap, TopicRange(source, None, None, None, None), **options
        ):
            decoded = decode_verdict(message.value)
            if isinstance(decoded, Rejection):
                unreadable += 1
            else:
                verdicts.append(decoded)
    except ReplaySourceError as error:
        raise VerdictSourceError(f"{source} is neither a file nor a readable topic") from error
    return verdicts, unreadable
