"""What one policy changes against another, figure by figure.

A policy change is reviewed before it is deployed (``spikewatch check --against``), and
a reviewer reads figures, not YAML layout: two files that differ in comments, order or
spelling of a number (``1e-6`` and ``0.000001``) change nothing, and a default left
implicit in one and written in the other is no change either. Both sides are compared as
validated, every default filled in.

``policy_version`` is not a figure: the caller compares it on its own (every escalation
carries it, so verdicts and replays can tell which rules made a page, and two policies
with different figures under one version would make that impossible).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from alerting.policy import Policy

ABSENT = "(not set)"
"""How a figure one side does not have at all (a region's team, say) is shown."""


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One figure, by its dotted key in the policy file, before and after."""

    key: str
    before: Any
    after: Any

    def line(self) -> str:
        return f"{self.key}: {_shown(self.before)} -> {_shown(self.after)}"


def policy_changes(before: Policy, after: Policy) -> list[PolicyChange]:
    """The figures that differ, in the order of their keys."""
    old, new = _figures(before), _figures(after)
    return [
        PolicyChange(key, old.get(key, ABSENT), new.get(key, ABSENT))
        for key in sorted(old.keys() | new.keys())
        if old.get(key, ABSENT) != new.get(key, ABSENT)
    ]


def _figures(policy: Policy) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    _flatten(policy.model_dump(mode="json", exclude={"policy_version"}), "", flat)
    return flat


def _flatten(value: Any, key: str, into: dict[str, Any]) -> None:
    """Sections and maps become dotted keys (an empty map has none, so a region's team
    added shows as that one key); a list is one figure, its order not counted (the
    policy's lists are sets: credible categories, broadcasters)."""
    if isinstance(value, dict):
        for name, item in value.items():
            _flatten(item, f"{key}.{name}" if key else str(name), into)
    elif isinstance(value, list):
        into[key] = sorted(value, key=repr)
    else:
        into[key] = value


def _shown(value: Any) -> str:
    return value if value is ABSENT else json.dumps(value)
