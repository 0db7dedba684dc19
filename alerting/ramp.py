"""Slow ramps: a Poisson CUSUM per broadcast and category over closed buckets.

A burst detector looks at one window; a broadcast whose report rate climbs
steadily over many minutes may never look improbable in any single five-minute
window, yet the climb is there. Page's CUSUM accumulates the log-likelihood
ratio of "rate is ``m`` x baseline" against "rate is the baseline" bucket by
bucket::

    S <- max(0, S + x * ln(m) - (m - 1) * tilt * lambda0)

where ``x`` is the trust weight of the reporters first seen in the bucket (a
reporter clicking again adds nothing) and ``lambda0`` the reports the
broadcast's expectation allows the category in one bucket (the category's learned
population rate x the broadcast's own level x viewers x bucket length, raised by as
much as the broadcast's other categories are above that level now:
:func:`loudness_elsewhere`).

A ramp is a climb, so its baseline is the category's *own* rate on this
broadcast, not the platform's: ``tilt`` is how many times ``lambda0`` the
category drew on this broadcast before, against its population rate
(:class:`OwnReference`). A gaming stream
whose audience reports harassment steadily at four times the platform's share
has a tilt of four, and no steady rate climbs against itself; judged against the
platform's share, it paged within minutes of a perfectly steady rate. What the
reference must not learn is the climb it is there to judge, so it takes in a
bucket only ``reference_lag_seconds`` after it closed, longer than a ramp takes
to reach the threshold. The exception is the category's first
``reference_opening_seconds`` on the broadcast: with nothing older to go by, the
reference is whatever the broadcast has shown so far, so a broadcast first seen
with a mix of its own is judged against that mix from its first minutes, and a
ramp that starts later is judged against the minutes before it. The opening is the
broadcast's, not the category's, and a category's reference starts from what the
broadcast's history holds of it: a category first reported minutes into a broadcast
was silent until then, and were its reference opened by its own first report, a climb
in a category the broadcast seldom draws would be judged against itself
(:func:`ramp_beside`).

Buckets close when a report of a later bucket arrives, so the statistic moves
with event time only and a replay computes the same figures as the live worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alerting.detection_policy import RampPolicy
from alerting.reporter_mark import WEIGHT_UNIT
from models.report import Category

REFERENCE_BLOCKS = 5
"""Buckets waiting out the reference's lag are summed in blocks of at least a fifth of the
lag, so a category's state holds a handful of pending sums (at most two more than this),
not one per bucket of the lag."""


def broadcast_threshold(threshold: float, categories_reported: int) -> float:
    """The mark a broadcast's CUSUMs are held to when it reports ``categories_reported`` of
    the categories: ``threshold`` is the mark for one that reports every category.

    A broadcast runs one CUSUM per category it reports, and each reaches a mark ``h`` by
    chance about once in ``e^h`` of its steps, so the broadcast's false ramps come at about
    ``k e^-h`` for ``k`` categories. Held to one mark for all of them, a broadcast reporting
    one category (a classic ramp) waited for the evidence that twelve need, minutes after
    the climb was plain; held to ``threshold - ln(N / k)``, every broadcast gets about the
    same rate of false ramps, whatever the number of categories its audience uses.
    """
    return threshold - math.log(len(Category) / max(1, categories_reported))


def loudness_elsewhere(rest_weight: float, rest_expected: float, prior_reports: float) -> float:
    """How many times louder the broadcast's other categories are in its window than its
    level expects of them, at least 1: the factor by which a category's ``lambda0`` follows
    the whole broadcast getting louder.

    The level is the broadcast's history, behind by its lag and half-life, and rightly so
    for the spike tests. A ramp read against it alone paged large broadcasts whose whole
    rate rose by two or three times over twenty minutes to an hour: each category ran
    above the lagging level by a fifth or more, and a CUSUM for a doubling drifts upwards
    from about 1.44 times its baseline. What tells a category climbing from a broadcast
    getting louder is whether the other categories climb with it, and the window holds
    them now. The category itself is left out, or its own ramp would raise its baseline;
    a broadcast that reports one category only gets no help, and is judged against its
    level as before. The prior (the history's, worth that many reports) keeps a small
    broadcast's few other reports from moving it.
    """
    rise = (prior_reports + rest_weight) / (prior_reports + rest_expected)
    return rise if rise > 1.0 else 1.0


@dataclass(slots=True)
class OwnReference:
    """A category's own rate on one broadcast, as a multiple of its population rate.

    Two decayed sums, the category's weight and its exposure over the same buckets
    (the broadcast's level x viewers x seconds: ``lambda0`` without the population's
    rate), and the sums of the buckets still waiting out the lag, in blocks. The
    population's rate is applied when the tilt is read, at its value then: kept in the
    sums, a reference taken while a cold-started learner was still low carried that
    error for as long as the lag (a category at the platform's true rate looked twice
    over-reported, and its climb was judged against twice its rate). The price is that
    a broadcast's own mix does not follow a rise of the whole platform until the lag
    lets newer buckets in; the level above it still does.

    Its :meth:`tilt` is the estimate, its platform share worth ``reference_prior_reports``
    reports, less ``reference_doubt`` standard errors (none in the shipped policies). A
    guess above the truth hides a climb, and a lower bound was once the answer to that;
    but a guess below it is no safer: a CUSUM for a doubling drifts upwards from a
    baseline about 30% under the truth, and a category the broadcast over-reports holds
    a reference of a few dozen reports at most, which a lower bound put there. A
    mid-size broadcast reporting one category steadily at four times its share paged a
    ramp within two hours more often than not, and a broadcast is live for hours.
    It never goes below 1: a category the broadcast under-reports is judged against
    the platform's share, so that rising back to the ordinary share is not a ramp.
    """

    weight: float = 0.0
    exposure: float = 0.0
    first_bucket: int | None = None
    """The category's first bucket on the broadcast (the start of its reference)."""
    folded_bucket: int | None = None
    """The newest bucket taken in (the decay's clock)."""
    pending: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Blocks waiting out the lag: ``block -> (weight, exposure)``."""

    def tilt(self, rate: float, policy: RampPolicy) -> float:
        """How many times ``rate`` (the category's population rate now) it drew here."""
        prior = policy.reference_prior_reports
        own = prior + self.weight
        lower = (own - policy.reference_doubt * math.sqrt(own)) / (prior + self.exposure * rate)
        return lower if lower > 1.0 else 1.0

    def add(
        self,
        bucket: int,
        weight: float,
        exposure: float,
        bucket_seconds: float,
        policy: RampPolicy,
    ) -> None:
        """Take in a closed bucket: at once within the category's opening on the
        broadcast, else once it is older than the lag (with the blocks now due)."""
        lag = max(1, round(policy.reference_lag_seconds / bucket_seconds))
        if self.first_bucket is None:
            self.first_bucket = bucket
        halvings = bucket_seconds / policy.reference_half_life_seconds
        if bucket < self.first_bucket + round(policy.reference_opening_seconds / bucket_seconds):
            self._fold(bucket, weight, exposure, halvings)
            return
        block_buckets = -(-lag // REFERENCE_BLOCKS)
        block = bucket // block_buckets
        known = self.pending.get(block)
        self.pending[block] = (
            (weight, exposure) if known is None else (known[0] + weight, known[1] + exposure)
        )
        for due in sorted(self.pending):
            last = (due + 1) * block_buckets - 1
            if last > bucket - lag:
                break
            due_weight, due_exposure = self.pending.pop(due)
            self._fold(last, due_weight, due_exposure, halvings)

    def _fold(self, bucket: int, weight: float, exposure: float, halvings: float) -> None:
        """Decay the sums to ``bucket`` (``halvings`` half-lives a bucket) and add to them."""
        if self.folded_bucket is not None and bucket > self.folded_bucket:
            decay = 0.5 ** ((bucket - self.folded_bucket) * halvings)
            self.weight *= decay
            self.exposure *= decay
        if self.folded_bucket is None or bucket > self.folded_bucket:
            self.folded_bucket = bucket
        self.weight += weight
        self.exposure += exposure

    def to_plain(self) -> list[Any]:
        return [
            self.weight,
            self.exposure,
            self.first_bucket,
            self.folded_bucket,
            [[block, weight, exposure] for block, (weight, exposure) in self.pending.items()],
        ]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> OwnReference:
        weight, exposure, first, folded, pending = plain
        return cls(
            weight=float(weight),
            exposure=float(exposure),
            first_bucket=None if first is None else int(first),
            folded_bucket=None if folded is None else int(folded),
            pending={int(b): (float(w), float(e)) for b, w, e in pending},
        )


@dataclass(slots=True)
class RampState:
    statistic: float = 0.0
    bucket: int | None = None
    pending_milli: int = 0
    reference: OwnReference = field(default_factory=OwnReference)
    loudness: float = 1.0
    """:func:`loudness_elsewhere` at the last bucket closed: the window guard reads the
    level raised by it too, or a broadcast getting louder passes the guard on its own."""

    def advance(
        self,
        bucket: int,
        rate: float,
        bucket_exposure: float,
        bucket_seconds: float,
        policy: RampPolicy,
        *,
        learn: bool = True,
    ) -> None:
        """Close every bucket before ``bucket``; lambda0 per bucket is ``rate`` (the
        category's population rate) x ``bucket_exposure`` (the broadcast's level x
        viewers x the bucket's seconds) x :attr:`loudness` (which the engine sets first).

        The closed buckets are judged against the reference as it stood before them,
        then taken into it unless ``learn`` is false (an incident is open on the
        broadcast: an ongoing incident never becomes the category's own rate). The
        reference takes in ``bucket_exposure`` alone: the loudness is how far the other
        categories stand above the level *now*, a correction of the baseline of the
        moment; taken in, the reference learned the category's rate against the
        loudness as it happened to be rather than against the level.
        """
        if self.bucket is None:
            self.bucket = bucket
            return
        if bucket <= self.bucket:
            return
        reference = self.reference
        baseline = reference.tilt(rate, policy) * rate * (bucket_exposure * self.loudness)
        drift = (policy.rate_multiplier - 1) * baseline
        closed = self.pending_milli / WEIGHT_UNIT
        statistic = max(0.0, self.statistic + closed * math.log(policy.rate_multiplier) - drift)
        empty = bucket - self.bucket - 1
        self.statistic = max(0.0, statistic - empty * drift)
        if learn:
            reference.add(self.bucket, closed, bucket_exposure, bucket_seconds, policy)
            if empty:
                reference.add(bucket - 1, 0.0, empty * bucket_exposure, bucket_seconds, policy)
        self.bucket = bucket
        self.pending_milli = 0

    def add(self, weight_milli: int) -> None:
        self.pending_milli += weight_milli

    def to_plain(self) -> list[Any]:
        """``[statistic, bucket, pending_milli, reference, loudness]``; a state stored
        before the reference existed reads as one whose reference starts now, and one
        stored before the loudness as one at 1."""
        return [
            self.statistic,
            self.bucket,
            self.pending_milli,
            self.reference.to_plain(),
            self.loudness,
        ]

    @classmethod
    def from_plain(cls, plain: list[Any]) -> RampState:
        statistic, bucket, pending, *rest = plain
        return cls(
            float(statistic),
            None if bucket is None else int(bucket),
            int(pending),
            OwnReference.from_plain(rest[0]) if rest else OwnReference(),
            float(rest[1]) if len(rest) > 1 else 1.0,
        )


def ramp_beside(
    ramps: Iterable[RampState], weight: float, exposure: float, folded_bucket: int | None
) -> RampState:
    """A category's new ramp on a broadcast where ``ramps`` are the other categories', and
    its history holds ``weight`` of the category over ``exposure`` (the level's, in the
    reference's units) up to ``folded_bucket``.

    The reference starts from what the broadcast's history knows of the category: a
    category's ramp is made with its first report and dropped with its window, so on a
    broadcast live for half an hour a category it seldom draws had no reference at all,
    and its climb, opening one, was judged against itself. Seeded, such a category comes
    with minutes of silence against the level, and a category reported again after a
    quiet spell with its earlier reports. Its opening is the broadcast's (the earliest of
    the other references'), for the same reason: a reference opened by the category's own
    first report took in whatever followed it as the category's ordinary rate.
    """
    starts = [r.reference.first_bucket for r in ramps if r.reference.first_bucket is not None]
    reference = OwnReference(
        weight=weight,
        exposure=exposure,
        first_bucket=min(starts, default=None),
        folded_bucket=folded_bucket if exposure > 0.0 else None,
    )
    return RampState(reference=reference)
