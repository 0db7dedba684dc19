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
tested against the level before it), nothing of an open incident's categories
enters while it is open (an ongoing incident never becomes normal), and the factor
never goes below 1 (a broadcast's quiet past does not make an ordinary level look
like abuse). The other categories go on teaching the level meanwhile, their share of
the population's rate the only expectation that enters: frozen at the incident's
start, the level of a broadcast that kept getting louder fell behind it, every
category in turn looked abusive against it and joined the incident, and a rare one
paged a second team.

A broadcast's mix is its own too: a gaming stream draws harassment at several times
the platform's share, a cooking stream hardly any, whatever their level. So each
category's weight is kept as well, decayed alike, and a category the broadcast
over-reports steadily carries its own *tilt* on top of the level::

    tilt = (M0 + category's own weight) / (M0 + level x the category's share of the
            population-expected weight),  at least 1

the population's mix worth ``M0`` reports of the category (``mix_prior_reports``).

Without it, a 300k-viewer broadcast whose audience reported harassment at four times
the platform's share, and everything else at the platform's rates, was paged by the
spike detector on a perfectly steady rate: the level rose by half the excess of one
category and left the rest of it to look like a surge. The ramp does not read the tilt,
which follows a climb within a minute; it keeps a reference of its own
(:mod:`alerting.ramp`).

The buckets not yet folded in are kept with their figures; the folded ones are
two decayed sums and a decayed weight per category. The whole is a few numbers per
broadcast, stored with its state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alerting.detection_policy import HistoryPolicy
from alerting.reporter_mark import WEIGHT_UNIT
from models.report import Category


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
    mix: dict[Category, float] = field(default_factory=dict)
    """Decayed trust weight each category's window added, of the buckets folded in."""
    pending_mix: dict[int, dict[Category, int]] = field(default_factory=dict)
    """The categories' weight (thousandths) of the buckets not yet folded in."""

    def add(
        self,
        bucket: int,
        weight_milli: int,
        expected: float,
        bucket_seconds: float,
        policy: HistoryPolicy,
        category: Category | None = None,
        category_milli: int = 0,
    ) -> None:
        """Record what one report added (to the broadcast, and ``category_milli`` to its
        ``category``'s window) and what the population expected since the broadcast's
        previous report; fold in the buckets that are now old enough."""
        if weight_milli or expected:
            known = self.pending.get(bucket)
            if known is None:
                self.pending[bucket] = (weight_milli, expected)
            else:
                self.pending[bucket] = (known[0] + weight_milli, known[1] + expected)
        if category is not None and category_milli:
            categories = self.pending_mix.get(bucket)
            if categories is None:
                self.pending_mix[bucket] = {category: category_milli}
            else:
                categories[category] = categories.get(category, 0) + category_milli
        newest_due = bucket - int(policy.lag_seconds / bucket_seconds) - 1
        if (self.pending and min(self.pending) <= newest_due) or (
            self.pending_mix and min(self.pending_mix) <= newest_due
        ):
            self._fold(newest_due, bucket_seconds, policy)

    def _fold(self, newest_due: int, bucket_seconds: float, policy: HistoryPolicy) -> None:
        due = {b for b in self.pending if b <= newest_due}
        due.update(b for b in self.pending_mix if b <= newest_due)
        for bucket in sorted(due):
            weight_milli, expected = self.pending.pop(bucket, (0, 0.0))
            if self.folded_bucket is not None and bucket > self.folded_bucket:
                elapsed = (bucket - self.folded_bucket) * bucket_seconds
                decay = 0.5 ** (elapsed / policy.half_life_seconds)
                self.weight *= decay
                self.expected *= decay
                for category in self.mix:
                    self.mix[category] *= decay
            if self.folded_bucket is None or bucket > self.folded_bucket:
                self.folded_bucket = bucket
            self.weight += weight_milli / WEIGHT_UNIT
            self.expected += expected
            for category, milli in self.pending_mix.pop(bucket, {}).items():
                self.mix[category] = self.mix.get(category, 0.0) + milli / WEIGHT_UNIT

    def factor(self, policy: HistoryPolicy) -> float:
        """How many times the population's rate this broadcast draws (at least 1)."""
        if self.weight == 0.0:
            return 1.0
        prior = policy.prior_reports
        factor = (prior + self.weight) / (prior + self.expected)
        return factor if factor > 1.0 else 1.0

    def reference_seed(self, category: Category, level: float, every: float) -> tuple[float, float]:
        """What the history holds of ``category`` as a ramp reference's first sums
        (:func:`alerting.ramp.ramp_beside`): its decayed weight, and the exposure of the
        same buckets in the reference's unit (level x viewer-seconds), the population's
        expected weight over ``every``, the population's rate summed over the categories."""
        if every <= 0.0:
            return 0.0, 0.0
        return self.mix.get(category, 0.0), level * self.expected / every

    def tilt(
        self,
        rates: Mapping[Category, float],
        every: float,
        level: float,
        policy: HistoryPolicy,
    ) -> dict[Category, float]:
        """The categories this broadcast over-reports beyond its level, each with its tilt
        (see the module doc): ``rates`` are the population's per category and ``every``
        their sum, whose shares split the population-expected weight between categories;
        ``level`` is :meth:`factor`. Categories without a tilt are left out."""
        tilts: dict[Category, float] = {}
        if not self.mix or every <= 0.0:
            return tilts
        prior = policy.mix_prior_reports
        predicted = level * self.expected / every
        for category, weight in self.mix.items():
            tilt = (prior + weight) / (prior + predicted * rates[category])
            if tilt > 1.0:
                tilts[category] = tilt
        return tilts

    def level_variation(self, policy: HistoryPolicy, settled: float) -> float:
        """How far the broadcast's level may lie from what its history says (a coefficient
        of variation), for the short test to allow: ``settled``, an ordinary broadcast's
        wandering, once the history holds what the population expects of
        ``burst_after_reports`` reports; before that, what is still unknown of the level.

        Across broadcasts the level wanders by ``unsettled_rate_variation``: taken as a
        gamma prior, that is a shape of ``1 / unsettled**2``, and each report the history
        holds adds one to it, so the level is known within ``1 / sqrt(shape)``. Held at the
        unsettled figure until the switch, a broadcast whose history already held dozens of
        reports was judged as if it held none, and a surge spread over several categories a
        few minutes into a mid-size broadcast stayed short of the short test's mark.

        The expectation does not use that gamma's mean but :meth:`factor`, shrunk harder
        towards the population (``prior_reports``): on a broadcast loud from its first
        report it is well below the level the history shows, so the figure returned is the
        root mean square of the level's error against :meth:`factor` (the gamma's spread
        and how far its mean lies above the factor), never above the unsettled figure
        (an empty history) nor below ``settled``. Narrowed by the counts alone, such
        broadcasts were paged more often in their first minutes.
        """
        unsettled = policy.unsettled_rate_variation
        if self.expected >= policy.burst_after_reports or unsettled <= settled:
            return settled
        shape = 1.0 / (unsettled * unsettled)
        under = (shape + self.weight) / (shape + self.expected) / self.factor(policy)
        if under < 1.0:
            under = 1.0
        spread = math.sqrt(under * under / (shape + self.weight) + (under - 1.0) ** 2)
        if spread > unsettled:
            return unsettled
        return spread if spread > settled else settled

    @property
    def is_empty(self) -> bool:
        return (
            self.weight == 0.0
            and self.expected == 0.0
            and not self.pending
            and not self.mix
            and not self.pending_mix
        )

    def to_plain(self) -> list[Any]:
        """``[weight, expected, folded_bucket, pending, mix, pending_mix]``; the last two
        (the categories' weights) are new, and a history stored without them reads as one
        with none folded in yet. The categories stay enum members, as the state's other
        category keys do: the state's encoding writes their values (an enum's ``value`` is
        a Python-level property, and a write read it for every category of every bucket)."""
        return [
            self.weight,
            self.expected,
            self.folded_bucket,
            [[bucket, weight, seconds] for bucket, (weight, seconds) in self.pending.items()],
            dict(self.mix),
            [[bucket, dict(categories)] for bucket, categories in self.pending_mix.items()],
        ]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> BroadcastHistory:
        weight, expected, folded, pending, *categories = plain
        mix, pending_mix = categories if categories else ({}, [])
        return cls(
            weight=float(weight),
            expected=float(expected),
            folded_bucket=None if folded is None else int(folded),
            pending={int(b): (int(w), float(s)) for b, w, s in pending},
            mix={Category(c): float(w) for c, w in mix.items()},
            pending_mix={
                int(b): {Category(c): int(m) for c, m in by_category.items()}
                for b, by_category in pending_mix
            },
        )
