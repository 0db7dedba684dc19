"""Slow ramps: a Poisson CUSUM per broadcast and category over closed buckets.

A burst detector looks at one window; a broadcast whose report rate climbs
steadily over many minutes may never look improbable in any single five-minute
window, yet the climb is there. Page's CUSUM accumulates the log-likelihood
ratio of "rate is ``m`` x baseline" against "rate is the baseline" bucket by
bucket::

    S <- max(0, S + x * ln(m) - (m - 1) * lambda0)

where ``x`` is the trust weight of the reporters first seen in the bucket (a
reporter clicking again adds nothing) and ``lambda0`` the reports a benign
broadcast of this audience draws in one bucket (learned base rate x viewers x
bucket length). The baseline is therefore per broadcast through its audience;
it is not learned from the broadcast's own history, since a ramp would teach it
the ramp.

Buckets close when a report of a later bucket arrives, so the statistic moves
with event time only and a replay computes the same figures as the live worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alerting.policy import RampPolicy
from alerting.window import WEIGHT_UNIT


@dataclass(slots=True)
class RampState:
    statistic: float = 0.0
    bucket: int | None = None
    pending_milli: int = 0

    def advance(self, bucket: int, bucket_mean: float, policy: RampPolicy) -> None:
        """Close every bucket before ``bucket``; ``bucket_mean`` is lambda0 per bucket."""
        if self.bucket is None:
            self.bucket = bucket
            return
        if bucket <= self.bucket:
            return
        drift = (policy.rate_multiplier - 1) * bucket_mean
        closed = self.pending_milli / WEIGHT_UNIT
        statistic = max(0.0, self.statistic + closed * math.log(policy.rate_multiplier) - drift)
        empty = bucket - self.bucket - 1
        self.statistic = max(0.0, statistic - empty * drift)
        self.bucket = bucket
        self.pending_milli = 0

    def add(self, weight_milli: int) -> None:
        self.pending_milli += weight_milli

    def to_plain(self) -> list[Any]:
        return [self.statistic, self.bucket, self.pending_milli]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> RampState:
        statistic, bucket, pending = plain
        return cls(float(statistic), None if bucket is None else int(bucket), int(pending))
