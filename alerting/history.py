"""A broadcast's own report rate over a longer horizon: empirical Bayes for large audiences.

Expected reports = rate x viewers x window, and the population's rate (learned,
:mod:`alerting.baseline`) is right for a typical broadcast but not for every
one: a broadcast of hundreds of thousands of viewers may draw, steadily, a few
times the platform's rate, and judged against the population it would page all
day. So each broadcast keeps its own evidence: the trust weight its reporters
added to its windows and what the population's rate expected of it meanwhile
(rate x viewer-seconds, at the rate of the moment), both decayed with a
half-life, and its expectation is the population rate shrunk towards its own::

    factor = (N0 + own weight) / (N0 + population-expected weight),  at least 1

the population prior being worth ``N0`` reports. A small broadcast never gathers
enough to move the factor; a large one carries its own level within a minute.

The factor is relative to the platform, not an absolute rate: the population's
expectation is taken at the rate of each moment, so when the whole platform gets
louder (an evening rise) the broadcast's factor stays what it was and its
expectation rises with the population's, instead of lagging behind by the
history's half-life and turning every large broadcast into a ramp.

What the history must not learn is the surge it is there to judge. Three things
keep it out: evidence enters only ``lag_seconds`` after its bucket (a jump is
tested against the level before it), nothing enters while an incident is open
(an ongoing incident never becomes normal), and the factor never goes below 1
(a broadcast's quiet past does not make an ordinary level look like abuse).

The buckets not yet folded in are kept with their figures; the folded ones are
two decayed sums. The whole is a few numbers per broadcast, stored with its state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerting.policy import HistoryPolicy
from alerting.window import WEIGHT_UNIT


@dataclass(slots=True)
class BroadcastHistory:
    weight: float = 0.0
    """Decayed trust weight of the reporters folded in."""
    expected: float = 0.0
    """Decayed weight the population's rate expected of the buckets folded in."""
    folded_bucket: int | None = None
    """The newest bucket folded in (the decay's clock)."""
    pending: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Buckets not yet folded in: ``bucket -> (weight_milli, expected)``."""

    def add(
        self,
        bucket: int,
        weight_milli: int,
        expected: float,
        bucket_seconds: float,
        policy: HistoryPolicy,
    ) -> None:
        """Record what one report added and what the population expected since the
        broadcast's previous report; fold in the buckets that are now old enough."""
        if weight_milli or expected:
            known = self.pending.get(bucket)
            if known is None:
                self.pending[bucket] = (weight_milli, expected)
            else:
                self.pending[bucket] = (known[0] + weight_milli, known[1] + expected)
        newest_due = bucket - int(policy.lag_seconds / bucket_seconds) - 1
        if self.pending and min(self.pending) <= newest_due:
            self._fold(newest_due, bucket_seconds, policy)

    def _fold(self, newest_due: int, bucket_seconds: float, policy: HistoryPolicy) -> None:
        for bucket in sorted(b for b in self.pending if b <= newest_due):
            weight_milli, expected = self.pending.pop(bucket)
            if self.folded_bucket is not None and bucket > self.folded_bucket:
                elapsed = (bucket - self.folded_bucket) * bucket_seconds
                decay = 0.5 ** (elapsed / policy.half_life_seconds)
                self.weight *= decay
                self.expected *= decay
            if self.folded_bucket is None or bucket > self.folded_bucket:
                self.folded_bucket = bucket
            self.weight += weight_milli / WEIGHT_UNIT
            self.expected += expected

    def factor(self, policy: HistoryPolicy) -> float:
        """How many times the population's rate this broadcast draws (at least 1)."""
        if self.weight == 0.0:
            return 1.0
        prior = policy.prior_reports
        factor = (prior + self.weight) / (prior + self.expected)
        return factor if factor > 1.0 else 1.0

    def is_established(self, policy: HistoryPolicy) -> bool:
        """Whether the history holds enough to judge a short jump against (see the policy)."""
        return self.expected >= policy.burst_after_reports

    @property
    def is_empty(self) -> bool:
        return self.weight == 0.0 and self.expected == 0.0 and not self.pending

    def to_plain(self) -> list[Any]:
        return [
            self.weight,
            self.expected,
            self.folded_bucket,
            [[bucket, weight, seconds] for bucket, (weight, seconds) in self.pending.items()],
        ]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> BroadcastHistory:
        weight, expected, folded, pending = plain
        return cls(
            weight=float(weight),
            expected=float(expected),
            folded_bucket=None if folded is None else int(folded),
            pending={int(b): (int(w), float(s)) for b, w, s in pending},
        )
