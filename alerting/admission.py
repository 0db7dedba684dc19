"""Which event times the core may trust.

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
