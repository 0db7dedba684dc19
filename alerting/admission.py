"""Which event times the core may trust, and which clock a broadcast's timers run on.

A producer with a broken clock could stamp reports hours ahead; counted, they
would push a broadcast's watermark into the future and make every honest report
"late". Such reports are refused with a reason instead.
"""

from __future__ import annotations

from models.dead_letter import DeadLetterReason
from models.decode import Rejection


def event_time_rejection(event_time: float, now: float, max_future_skew: float) -> Rejection | None:
    ahead = event_time - now
    if ahead > max_future_skew:
        return Rejection(
            DeadLetterReason.EVENT_TIME_OUT_OF_RANGE,
            f"reported_at is {ahead:.0f} s in the future (limit {max_future_skew:.0f} s)",
        )
    return None


def broadcast_clock(
    now: float, watermark: float | None, record_clock: float | None, lateness: float
) -> float:
    """The time a broadcast's windows expire and its incidents resolve at, when the shell's
    clock says ``now``: ``now``, unless the broadcast's newest report (``watermark``) is
    stamped more than ``lateness`` before its newest record reached Kafka
    (``record_clock``), and then ``now`` as far back.

    A broadcast's reports are counted in their own time, which one app build's clock can
    put far behind the records (stamping local time as UTC): live, the shell's clock is
    the wall clock, and the broadcast's window, twenty minutes behind it, was emptied by
    every tick, so that its surges never paged. Counting such reports at their records'
    time instead would be wrong for a producer that flushes minutes of reports at once,
    which the window must see spread over the minutes they were made in; the clock the
    broadcast's timers run on can follow its reports instead. Within the lateness (a
    delivery a few seconds to a minute late) nothing moves.

    For example, with a lateness of 60 s at ``now`` 2000: a broadcast whose newest report is
    stamped 800 and reached Kafka at 2000 runs at 800; one stamped 1990 at 2000.
    """
    if watermark is None or record_clock is None:
        return now
    behind = record_clock - watermark
    return now - behind if behind > lateness else now
