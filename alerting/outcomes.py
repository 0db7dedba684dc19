"""What the engine hands back to the shell: a report's escalations and what was done to
it, a tick's escalations and whether the broadcast's state can go.

These are built for every report or tick: plain classes, which the compiled core builds
natively, where a dataclass's generated ``__init__`` runs as Python code.
"""

from __future__ import annotations

from enum import StrEnum

from models.escalation_v2 import EscalationV2


class ClockCorrection(StrEnum):
    """Why a report counted at its Kafka record's time instead of its own (a metric label in
    the shell): stamped ahead of its record, or too late for the broadcast's window while
    its record is not."""

    AHEAD = "ahead_of_record"
    BEHIND = "behind_window"


class Observation:
    """What one report did: the escalations to send, whether it was too late to count,
    and whether its event time was moved to its record's time (``clock``)."""

    __slots__ = ("clock", "escalations", "late")

    def __init__(
        self,
        escalations: list[EscalationV2] | None = None,
        late: bool = False,
        clock: ClockCorrection | None = None,
    ) -> None:
        self.escalations: list[EscalationV2] = escalations if escalations is not None else []
        self.late = late
        self.clock = clock

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Observation):
            return NotImplemented
        return (self.escalations, self.late, self.clock) == (
            other.escalations,
            other.late,
            other.clock,
        )

    def __repr__(self) -> str:
        return f"Observation({self.escalations!r}, late={self.late}, clock={self.clock!r})"


class TickResult:
    __slots__ = ("escalations", "evictable")

    def __init__(self, evictable: bool = False) -> None:
        self.escalations: list[EscalationV2] = []
        self.evictable = evictable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TickResult):
            return NotImplemented
        return (self.escalations, self.evictable) == (other.escalations, other.evictable)

    def __repr__(self) -> str:
        return f"TickResult({self.escalations!r}, evictable={self.evictable})"
