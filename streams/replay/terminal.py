"""What ``spikewatch replay`` prints for a person on stderr: the run's totals and each
scored rule's figures in words (``--card`` writes the same figures as JSON)."""

from __future__ import annotations

import math
import sys
from typing import Any

from streams.replay.session import ReplayResult


def floored_percent(ratio: float) -> str:
    """A share in whole percent, rounded down: the figures are read against targets of
    100% (recall), and 1,296 incidents paged of 1,300 rounded to "100%" read as met."""
    return f"{math.floor(ratio * 100 + 1e-9)}%"


def summary_lines(result: ReplayResult, seconds: float) -> list[str]:
    actions: dict[str, int] = {}
    for escalation in result.escalations:
        name = f"{escalation.event_action.value}/{escalation.severity.value}"
        actions[name] = actions.get(name, 0) + 1
    return [
        f"replayed {result.messages} messages in {seconds:.1f} s "
        f"({result.messages / max(seconds, 1e-9):,.0f}/s); {result.dead_letters} dead letters",
        "escalations: " + (", ".join(f"{k}={v}" for k, v in sorted(actions.items())) or "none"),
    ]


def card_lines(card: dict[str, Any]) -> list[str]:
    """One line per rule scored, in words a person reads at the terminal (``--card``
    writes the same figures as JSON)."""
    lines = []
    for name, figures in card.items():
        if not isinstance(figures, dict):
            continue
        incidents = figures["abuse_incidents"]
        false_pages = (
            f"false pages {figures['false_pages']} ({figures['false_pages_per_hour']:.1f} an hour"
        )
        by_kind = sorted(figures["false_pages_by_kind"].items(), key=lambda item: -item[1])
        if by_kind:
            false_pages += ": " + ", ".join(f"{kind} {count}" for kind, count in by_kind)
        parts = [
            f"{name}: recall {floored_percent(figures['recall'])} "
            f"({figures['detected']}/{incidents})",
            f"precision {floored_percent(figures['precision'])}",
            false_pages + ")",
            f"paged once {figures['incidents_paged_once']}/{incidents} "
            f"({_per_incident(figures['pages_per_incident'])})",
            f"campaigns paged {figures['campaigns_paged']}/{figures['coordinated_incidents']} "
            f"({figures['coordinated_classed']} classed coordinated)",
            f"median delay {_delays(figures['median_delay_seconds'])}",
            f"longest {_delays(figures['max_delay_seconds'])}",
        ]
        floors = figures["median_floor_seconds"]
        if any(seconds is not None for seconds in floors.values()):
            parts.append(
                f"own reporters weigh {figures['floor_weighted_reporters']} (the floor), "
                f"median {_delays(floors)}"
            )
        lines.append("; ".join(parts))
    return lines


def _per_incident(pages: float | None) -> str:
    """None: no abuse incident was paged, so there is no ratio to give."""
    return "no incident paged" if pages is None else f"{pages:.2f} pages per incident"


def _delays(by_kind: dict[str, float | None]) -> str:
    named = [
        f"{kind.replace('_', ' ')} {seconds:.1f} s"
        for kind, seconds in by_kind.items()
        if seconds is not None
    ]
    return ", ".join(named) or "none"


def print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def explained_lines(findings: list[str]) -> list[str]:
    """``--explain``'s lines, or one saying there was nothing to explain."""
    return findings or ["explain: no false page and no missed incident"]
