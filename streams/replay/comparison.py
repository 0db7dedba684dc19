"""What a policy change moved: a replay's scored figures set beside an earlier run's card.

Every policy change is judged by running the same traffic twice, the deployed policy and
the changed one, and reading the two scorecards side by side: which scenario gained or
lost incidents, which gained false pages, which median moved. Read by eye over every
scenario, a lost incident in one of them is easy to miss, so ``replay --against CARD``
prints only what moved, and the totals, naming the incidents missed now and those paged
now (a scenario that gained one incident and lost another has the same recall). False
pages are counted, not named: ``--explain`` names them.

The two runs must have scored the same traffic (the same scenarios and seeds, or the same
log): a scenario whose incident or message count differs is named and not compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streams.replay.session import ReplaySourceError

LOG_RUN = "the log"
"""The name a single log's (or topic's) scored figures go by, where scenarios go by theirs."""


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored rule's figures (:meth:`streams.replay.scoring.Score.as_dict`) and the
    size of the traffic they were scored on."""

    figures: Mapping[str, Any]
    messages: int | None

    @property
    def traffic(self) -> tuple[int, int | None]:
        return int(self.figures["abuse_incidents"]), self.messages


def scored_of_card(card: Mapping[str, Any]) -> dict[str, Scored]:
    """The policy's figures in a card ``replay --card`` wrote: a scenario run's, by
    scenario, or a log's (decided or ``--escalations``), under :data:`LOG_RUN`."""
    if isinstance(card.get("policy_version"), str):
        figures = card.get("policy", card.get("escalations"))
        if not isinstance(figures, Mapping):
            raise ValueError("a log's card without the policy's figures")
        return {LOG_RUN: Scored(_checked(figures), None)}
    scored = {}
    for name, entry in card.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("policy"), Mapping):
            raise ValueError(f"{name!r} holds no scenario's figures")
        messages = entry.get("messages")
        scored[name] = Scored(
            _checked(entry["policy"]), messages if isinstance(messages, int) else None
        )
    return scored


def _checked(figures: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("abuse_incidents", "detected", "false_pages", "incidents_paged_once"):
        if not isinstance(figures.get(key), int):
            raise ValueError(f"figures without {key!r}")
    if not isinstance(figures.get("median_delay_seconds"), Mapping):
        raise ValueError("figures without 'median_delay_seconds'")
    return figures


def load_card(path: str) -> dict[str, Scored]:
    """An earlier run's card, read before this run's replay so that a wrong path costs no
    replay's time."""
    try:
        card = orjson.loads(Path(path).read_bytes())
    except OSError as error:
        raise ReplaySourceError(
            f"cannot read card {path} ({error.strerror}): give a file written by replay --card"
        ) from error
    except orjson.JSONDecodeError as error:
        raise ReplaySourceError(
            f"{path} is not JSON: give a card written by replay --card"
        ) from error
    if not isinstance(card, dict):
        raise ReplaySourceError(f"{path} is no replay card: give a card written by replay --card")
    try:
        return scored_of_card(card)
    except ValueError as error:
        raise ReplaySourceError(
            f"{path} is no replay card ({error}): give a card written by replay --card"
        ) from error


def comparison_lines(
    before: Mapping[str, Scored], after: Mapping[str, Scored], against: str
) -> list[str]:
    """What moved from ``before`` (the card at ``against``) to ``after`` (this run): a
    line per scored rule that moved or could not be compared, then the totals over those
    compared."""
    lines = []
    compared: list[tuple[Scored, Scored]] = []
    moved = 0
    for name, now in after.items():
        then = before.get(name)
        if then is None:
            lines.append(f"{name}: not in {against}")
        elif then.traffic != now.traffic:
            lines.append(
                f"{name}: other traffic than in {against} ({_traffic(then)} there, "
                f"{_traffic(now)} here): not compared"
            )
        else:
            compared.append((then, now))
            if moves := _moves(then.figures, now.figures):
                moved += 1
                lines.append(f"{name}: " + "; ".join(moves))
    lines.extend(f"{name}: in {against} only" for name in before if name not in after)
    if compared:
        lines.append(
            f"against {against}: {len(compared) - moved} of {len(compared)} unchanged; "
            + _total("incidents paged", compared, "detected", of="abuse_incidents")
            + ", "
            + _total("false pages", compared, "false_pages")
        )
    return lines


def _total(
    label: str, compared: list[tuple[Scored, Scored]], key: str, of: str | None = None
) -> str:
    then = sum(int(pair[0].figures[key]) for pair in compared)
    now = sum(int(pair[1].figures[key]) for pair in compared)
    whole = "" if of is None else f" of {sum(int(pair[1].figures[of]) for pair in compared)}"
    return f"{label} {then} -> {now}{whole} ({now - then:+d})"


def _traffic(scored: Scored) -> str:
    incidents, messages = scored.traffic
    held = f"{incidents} abuse incidents"
    return held if messages is None else f"{held} in {messages} messages"


def _moves(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    incidents = now["abuse_incidents"]
    moves = [
        f"{label} {then[key]} -> {now[key]}{suffix}"
        for key, label, suffix in (
            ("detected", "recall", f" of {incidents}"),
            ("false_pages", "false pages", ""),
            ("incidents_paged_once", "paged once", f" of {incidents}"),
            ("campaigns_paged", "campaigns paged", ""),
        )
        if then.get(key) != now.get(key)
    ]
    if isinstance(then.get("missed"), list) and isinstance(now.get("missed"), list):
        before_missed, after_missed = Counter(then["missed"]), Counter(now["missed"])
        if lost := after_missed - before_missed:
            moves.append("missed now: " + _names(lost))
        if found := before_missed - after_missed:
            moves.append("paged now: " + _names(found))
    before_medians, after_medians = then["median_delay_seconds"], now["median_delay_seconds"]
    for kind in after_medians:
        old, new = before_medians.get(kind), after_medians[kind]
        if old is None and new is None:
            continue
        if _seconds(old) != _seconds(new):
            moves.append(f"median {kind.replace('_', ' ')} {_seconds(old)} -> {_seconds(new)}")
    return moves


def _names(incidents: Counter[str], shown: int = 5) -> str:
    """The incidents by name (and seed), the first few of a long list: the rest are in
    ``--explain``."""
    names = sorted(incidents.elements())
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _seconds(value: float | None) -> str:
    """As the scorecard prints a median: a move it would not show is none."""
    return "none" if value is None else f"{value:.1f} s"
