"""Whether the worker is alive in the sense that matters: still deciding.

Why: a worker whose Faust app crashed used to hang in "Stopping..." while
``/healthz`` kept answering ok, so no liveness probe ever restarted it (issue
14). The verdict here turns false, for good, on a fatal error (the app crashed,
a batch or a state write failed), and while input waits (lag) but no batch has
completed for ``stall_seconds``, unless the tables are being recovered (a long
restore is progress of its own).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Liveness:
    stall_seconds: float
    last_progress: float
    """Monotonic time of the last batch completed (or of the start)."""
    fatal: str | None = None

    def progressed(self, now: float) -> None:
        self.last_progress = now

    def failed(self, reason: str) -> None:
        """A fatal error: the first one is kept; nothing makes the worker healthy again."""
        if self.fatal is None:
            self.fatal = reason

    def problem(self, now: float, *, waiting: int, recovering: bool) -> str | None:
        """Why the worker is not alive, or None when it is; ``waiting`` is the input lag."""
        if self.fatal is not None:
            return f"fatal: {self.fatal}"
        idle = now - self.last_progress
        if waiting > 0 and idle > self.stall_seconds and not recovering:
            return f"stalled: no batch for {idle:.0f} s while {waiting} reports wait"
        return None
