"""Which clock resolves incidents and evicts idle state, per input partition.

The core's ``tick(state, now)`` takes the time from the shell. Live, that is the
wall clock, except while a partition works through a backlog (after an outage,
a restart, or under overload): then it is the newest event time the partition
has counted (its stream time). On the wall clock, a worker catching up on
reports older than the window would resolve incidents and evict windows whose
next reports are still waiting in the backlog, and miss every surge that spans
two batches (``docs/guarantees.md`` tells how the overload test found it).
"""

from __future__ import annotations

FIRST_FETCH_GRACE_SECONDS = 10.0
"""How long after a recovery a partition that has delivered nothing yet counts as
behind rather than idle: it cannot tell before its first fetch, which normally
arrives well within this, and the windows it just restored must not be evicted
in the meantime."""


def partition_clock(
    now: float, stream_time: float | None, lag: int | None, seconds_since_recovery: float
) -> float:
    """``lag`` is None when nothing has been fetched on the partition since recovery."""
    behind = seconds_since_recovery < FIRST_FETCH_GRACE_SECONDS if lag is None else lag > 0
    return min(now, stream_time) if behind and stream_time is not None else now
