"""Learned base rates: per category, platform-wide, slowly moving, hard to poison.

Expected reports = base rate x viewers x window. The policy gives priors; this
learner moves them towards what the traffic shows, so a deployment needs no hand
tuning. It counts, per category, the trust weight of reporters newly seen in a
window (the same quantity the detectors test) against the exposure the traffic
implies: each report adds ``viewers x gap`` viewer-seconds, ``gap`` being the
time since the previous report of the same broadcast, capped so a broadcast that
has gone quiet does not count as watched. Evidence decays with a half-life in
event time, and the prior is worth ``prior_viewer_seconds`` of exposure::

    rate = (prior * E0 + decayed weight) / (E0 + decayed exposure)

clamped to ``[prior / max_factor, prior * max_factor]``.

Guards against learning that abuse is normal: broadcasts with an open incident
(abuse or coordination) teach nothing, suspect reporters weigh nothing, and the
clamp bounds what any campaign could ever shift.

Determinism: the learner evolves only with the report sequence it is fed. The
live worker keeps one learner per input partition (it only ever sees its own
partitions) and persists it in the state table; replay keeps one per partition
too, assigning each report to the partition the producer's hash gives its
broadcast, so a replay reproduces the live decisions exactly. A learner that
pooled every partition would learn faster but could never be reproduced by a
worker that owns a hash-partitioned sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerting.policy import Policy
from alerting.window import WEIGHT_UNIT
from models.report import Category


@dataclass(slots=True)
class BaseRateLearner:
    clock: float | None = None
    exposure: float = 0.0
    weights: dict[Category, float] = field(default_factory=dict)

    def rate(self, category: Category, policy: Policy) -> float:
        prior = policy.category(category).base_rate_per_viewer_second
        learning = policy.learning
        if not learning.enabled:
            return prior
        anchor = learning.prior_viewer_seconds
        estimate = (prior * anchor + self.weights.get(category, 0.0)) / (anchor + self.exposure)
        return min(max(estimate, prior / learning.max_factor), prior * learning.max_factor)

    def learn(
        self,
        event_time: float,
        viewer_seconds: float,
        category: Category,
        weight_milli: int,
        policy: Policy,
    ) -> None:
        if self.clock is None or event_time > self.clock:
            if self.clock is not None:
                decay = 0.5 ** ((event_time - self.clock) / policy.learning.half_life_seconds)
                self.exposure *= decay
                for known in self.weights:
                    self.weights[known] *= decay
            self.clock = event_time
        self.exposure += viewer_seconds
        if weight_milli:
            self.weights[category] = self.weights.get(category, 0.0) + weight_milli / WEIGHT_UNIT

    def to_plain(self) -> dict[str, Any]:
        return {
            "t": self.clock,
            "e": self.exposure,
            "w": {category.value: weight for category, weight in self.weights.items()},
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> BaseRateLearner:
        return cls(
            clock=None if plain["t"] is None else float(plain["t"]),
            exposure=float(plain["e"]),
            weights={Category(c): float(w) for c, w in plain["w"].items()},
        )
