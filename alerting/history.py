"""A broadcast's own report rate over a longer horizon: empirical Bayes for large audiences.

Expected reports = rate x viewers x window, and the population's rate (learned,
:mod:`alerting.baseline`) is right for a typical broadcast but not for every
one: a broadcast of hundreds of thousands of viewers may draw, steadily, a few
times the platform's rate, and judged against the population it would page all
day. So each broadcast keeps its own evidence: the trust weight its reporters
added to its windows and the viewer-seconds it was watched, decayed with a
half-life, and its expectation is the population rate shrunk towards its own::

    factor = (N0 + own weight) / (N0 + population rate x own exposure),  at least 1

the population prior being worth ``N0`` reports. A small broadcast never gathers
enough to move the factor; a large one carries its own level within a minute.

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
    exposure: float = 0.0
    """Decayed viewer-seconds folded in."""
    folded_bucket: int | None = None
    """The newest bucket folded in (the decay's clock)."""
    pending: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Buckets not yet folded in: ``bucket -> (weight_milli, viewer_seconds)``."""

    def add(
        self,
        bucket: int,
        weight_milli: int,
        viewer_seconds: float,
        bucket_seconds: float,
        policy: HistoryPolicy,
    ) -> None:
        """Record what one report added; fold in the buckets that are now old enough."""
        if weight_milli or viewer_seconds:
            known = self.pending.get(bucket)
            if known is None:
                self.pending[bucket] = (weight_milli, viewer_seconds)
            else:
                self.pending[bucket] = (known[0] + weight_milli, known[1] + viewer_seconds)
        newest_due = bucket - int(policy.lag_seconds / bucket_seconds) - 1
        if self.pending and min(self.pending) <= newest_due:
            self._fold(newest_due, bucket_seconds, policy)

    def _fold(self, newest_due: int, bucket_seconds: float, policy: HistoryPolicy) -> None:
        for bucket in sorted(b for b in self.pending if b <= newest_due):
            weight_milli, viewer_seconds = self.pending.pop(bucket)
            if self.folded_bucket is not None and bucket > self.folded_bucket:
                elapsed = (bucket - self.folded_bucket) * bucket_seconds
                decay = 0.5 ** (elapsed / policy.half_life_seconds)
                self.weight *= decay
                self.exposure *= decay
            if self.folded_bucket is None or bucket > self.folded_bucket:
                self.folded_bucket = bucket
            self.weight += weight_milli / WEIGHT_UNIT
            self.exposure += viewer_seconds

    def factor(self, population_rate: float, policy: HistoryPolicy) -> float:
        """How many times the population's rate this broadcast draws (at least 1)."""
        if self.weight == 0.0:
            return 1.0
        prior = policy.prior_reports
        factor = (prior + self.weight) / (prior + population_rate * self.exposure)
        return factor if factor > 1.0 else 1.0

    def is_established(self, population_rate: float, policy: HistoryPolicy) -> bool:
        """Whether the history holds enough to judge a short jump against (see the policy)."""
        return population_rate * self.exposure >= policy.burst_after_reports

    @property
    def is_empty(self) -> bool:
        return self.weight == 0.0 and self.exposure == 0.0 and not self.pending

    def to_plain(self) -> list[Any]:
        return [
            self.weight,
            self.exposure,
            self.folded_bucket,
            [[bucket, weight, seconds] for bucket, (weight, seconds) in self.pending.items()],
        ]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> BroadcastHistory:
        weight, exposure, folded, pending = plain
        return cls(
            weight=float(weight),
            exposure=float(exposure),
            folded_bucket=None if folded is None else int(folded),
            pending={int(b): (int(w), float(s)) for b, w, s in pending},
        )
