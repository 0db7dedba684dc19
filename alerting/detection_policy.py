"""The detectors' figures: the sections of the policy file that say how reports are
counted and judged (the window, the spike and short tests, credible reports, trust
weights, ramps, the learned rates and each broadcast's history).

Apart from :mod:`alerting.policy`, which assembles them with the routing, the
incidents' lifecycle and on-call into one validated document, so that each module
stays about one thing; :mod:`alerting.policy` is where they are read from.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.report import Category

PositiveSeconds = Annotated[float, Field(gt=0)]
UnitInterval = Annotated[float, Field(ge=0, le=1)]


class PolicySection(BaseModel):
    """A section of the policy file: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class WindowPolicy(PolicySection):
    """Sliding event-time window: ``length_seconds`` summed over ``bucket_seconds`` buckets.

    Example: length 300, bucket 10 keeps 30 buckets; a report at 12:00:07 lands in
    the 12:00:00 bucket, and at event time 12:05:03 the window covers the buckets
    from 12:00:10 on, so the 12:00:00 bucket has left it.

    A report's event time is its device's clock, and one device may be minutes
    ahead: where the Kafka record's timestamp is known, a report stamped more than
    ``clock_tolerance_seconds`` after it counts at the record's time instead, so no
    single report can move a broadcast's clock into the future.
    """

    length_seconds: PositiveSeconds = 300
    bucket_seconds: PositiveSeconds = 10
    allowed_lateness_seconds: Annotated[float, Field(ge=0)] = 60
    max_reporters_per_category: Annotated[int, Field(ge=10)] = 10_000
    clock_tolerance_seconds: Annotated[float, Field(ge=0)] = 2

    @model_validator(mode="after")
    def _buckets_fit(self) -> WindowPolicy:
        if self.bucket_seconds > self.length_seconds:
            raise ValueError("bucket_seconds must not exceed length_seconds")
        return self

    @model_validator(mode="after")
    def _largest_state_fits(self) -> WindowPolicy:
        """A broadcast at the caps in every category must still fit one changelog record."""
        from alerting import limits  # limits reads states, which import this module

        largest = limits.largest_state_bytes(
            self.max_reporters_per_category, self.length_seconds, self.bucket_seconds
        )
        if largest > limits.MAX_STATE_RECORD_BYTES:
            fitting = limits.max_reporters_fitting(
                limits.MAX_STATE_RECORD_BYTES, self.length_seconds, self.bucket_seconds
            )
            raise ValueError(
                f"max_reporters_per_category {self.max_reporters_per_category} lets one "
                f"broadcast's state reach {largest} bytes, more than a changelog record may "
                f"hold ({limits.MAX_STATE_RECORD_BYTES}); set it to {fitting} or less"
            )
        return self


class SpikePolicy(PolicySection):
    """Audience-normalised surge test (Poisson upper tail on distinct reporters).

    ``trigger_p_value`` is the high mark that opens an incident; ``sustain_p_value``
    the low mark that keeps one open.

    The window is also tested over the ``burst_seconds`` ending with each report's
    bucket alone (the newest, for a report on time), where that span expects at least
    ``burst_min_expected`` reports: a surge on a mid-size or large audience is
    improbable in half a minute long before it is over five. On the smallest audiences
    the whole window already fires on the minimum of
    ``min_distinct_reporters``, so the short test would add nothing there.

    ``rate_variation`` is how far an ordinary broadcast's own rate wanders around its
    best estimate (a coefficient of variation): both tests must find the count
    improbable under that wandering too, which matters only where hundreds of reports
    are expected (see :func:`alerting.stats.wandering_rate_upper_tail`).
    """

    trigger_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    sustain_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-3
    min_distinct_reporters: Annotated[int, Field(ge=1)] = 5
    min_viewers: Annotated[int, Field(ge=1)] = 50
    default_viewers: Annotated[int, Field(ge=1)] = 200
    burst_seconds: PositiveSeconds = 30
    burst_min_expected: Annotated[float, Field(gt=0)] = 0.03
    rate_variation: Annotated[float, Field(ge=0, le=2)] = 0.15

    @model_validator(mode="after")
    def _marks_ordered(self) -> SpikePolicy:
        if self.sustain_p_value < self.trigger_p_value:
            raise ValueError("sustain_p_value must be >= trigger_p_value (the low mark)")
        return self


class CredibleReportPolicy(PolicySection):
    """Which single reports are credible enough to escalate on their own."""

    categories: frozenset[Category] = frozenset({Category.CHILD_SAFETY, Category.VIOLENT_EXTREMISM})
    min_trust: Annotated[float, Field(ge=0, le=1)] = 0.8
    min_account_age_days: Annotated[int, Field(ge=0)] = 30


class TrustPolicy(PolicySection):
    """How much one distinct reporter weighs in the abuse statistic.

    An ordinary reporter weighs 1. Trust above ``neutral_trust`` adds up to
    ``high_trust_bonus``; a trusted flagger weighs ``trusted_flagger_weight``.
    A *suspect* reporter (account younger than ``new_account_days``, trust below
    ``low_trust``, or not watching) weighs nothing: such accounts are what a
    coordinated false-reporting campaign is made of, so they are counted by the
    coordination detector instead and never as evidence of abuse.

    A reporter without a ``reporter`` object weighs 1, less the share of the window's
    known reporters that are suspect where most of them are and they are half a burst's
    count, those taken beside ``unknown_prior_reporters`` ordinary ones (none beside them
    while the window holds a suspect burst): :func:`alerting.standing.unknown_weight_lost`.
    """

    neutral_trust: UnitInterval = 0.5
    high_trust_bonus: Annotated[float, Field(ge=0, le=4)] = 1.0
    trusted_flagger_weight: Annotated[float, Field(ge=1, le=10)] = 2.0
    low_trust: UnitInterval = 0.15
    new_account_days: Annotated[int, Field(ge=0)] = 7
    unknown_prior_reporters: Annotated[float, Field(ge=0)] = 8.0


class RampPolicy(PolicySection):
    """Slow ramps: a Poisson CUSUM per broadcast and category over closed buckets.

    The CUSUM tests "rate is ``rate_multiplier`` x the broadcast's baseline" against
    "rate is the baseline" and fires when the accumulated log-likelihood ratio
    reaches the broadcast's mark (``threshold`` for one reporting every category, less
    ``ln(N / k)`` for one reporting k of the N: :func:`alerting.ramp.broadcast_threshold`)
    while the window is at least above ``window_p_value`` with ``min_weighted_reporters``.

    The baseline is the category's own earlier rate on the broadcast, risen with its
    other categories over their last ``elsewhere_seconds``; :mod:`alerting.ramp` explains
    both (the ``reference_`` lag must be longer than a ramp takes to reach ``threshold``).
    """

    rate_multiplier: Annotated[float, Field(gt=1, le=20)] = 2.0
    threshold: Annotated[float, Field(gt=math.log(len(Category)))] = 10.0
    window_p_value: Annotated[float, Field(gt=0, lt=1)] = 1e-2
    min_weighted_reporters: Annotated[float, Field(ge=1)] = 8.0
    reference_lag_seconds: Annotated[float, Field(gt=0)] = 600.0
    reference_opening_seconds: Annotated[float, Field(ge=0)] = 300.0
    reference_half_life_seconds: Annotated[float, Field(gt=0)] = 900.0
    reference_prior_reports: Annotated[float, Field(gt=0)] = 2.0
    reference_doubt: Annotated[float, Field(ge=0)] = 0.0
    elsewhere_seconds: PositiveSeconds = 60


class LearningPolicy(PolicySection):
    """Learned base rates: the priors move slowly towards what the traffic shows.

    The priors' total is worth ``prior_reports`` reports, so a few minutes of a
    platform's traffic outweigh it, and their mix (each category's share) is worth
    ``prior_mix_reports``. How loud the platform is follows it with
    ``level_half_life_seconds`` (an evening rise must not leave every large broadcast
    above a lagging estimate), its mix with ``half_life_seconds`` (rare categories
    would swing with every report); the rate never goes beyond ``max_factor`` above or
    below the prior. A campaign cannot teach that abuse is normal because a
    broadcast teaches only while no detector sees anything on it (each broadcast
    adds at most what looks ordinary), and suspect reporters weigh nothing.
    ``max_gap_seconds`` caps the exposure one gap between two reports of a
    broadcast may add (a broadcast that ended must not count as watched).

    ``weight_dispersion`` is the prior of how far the platform's ordinary reporters'
    trust weights spread (:meth:`alerting.baseline.BaseRateLearner.dispersion`), worth
    ``prior_reports`` reporters; with learning off it is used as it is, and
    ``spikewatch calibrate`` writes the log's.
    """

    enabled: bool = True
    prior_reports: Annotated[float, Field(gt=0)] = 20.0
    prior_mix_reports: Annotated[float, Field(gt=0)] = 200.0
    half_life_seconds: PositiveSeconds = 3600
    level_half_life_seconds: PositiveSeconds = 120
    max_factor: Annotated[float, Field(ge=1, le=1000)] = 30.0
    max_gap_seconds: PositiveSeconds = 300
    weight_dispersion: Annotated[float, Field(ge=1, le=10)] = 1.0


class HistoryPolicy(PolicySection):
    """A broadcast judged against its own history (empirical Bayes).

    The population rate is the prior, worth ``prior_reports`` reports; the
    broadcast's own reports and exposure, older than ``lag_seconds`` and decayed
    with ``half_life_seconds``, are the evidence. A small broadcast never gathers
    enough to move far from the population; a large one soon carries its own
    rate, so its steady or slowly varying level is normal for it. Only a louder
    history than the population's raises the expectation: the population's rate
    stays the floor. An open incident's categories teach nothing while it is open.

    The short test over a few seconds (``spike.burst_seconds``) judges a jump
    against the broadcast's own level, which is settled once the history holds what
    the population rate expects of ``burst_after_reports`` reports; until then the
    short test asks for more: levels differ between broadcasts by
    ``unsettled_rate_variation`` (a coefficient of variation), narrowed by each report
    the history holds (:meth:`alerting.history.BroadcastHistory.level_variation`).

    Each category's share of the broadcast's reports is its own as well (its *tilt*
    above the level, :meth:`alerting.history.BroadcastHistory.tilt`), the population's
    mix worth ``mix_prior_reports`` reports of the category: mixes differ between
    broadcasts by several times (what is on screen decides what viewers report), so
    the population's is a weak prior. It is not weaker still because a small
    broadcast's few reports, a surge delivered late among them (its buckets already
    past the lag), would otherwise lift the category's expectation by half for each.
    """

    prior_reports: Annotated[float, Field(gt=0)] = 10.0
    mix_prior_reports: Annotated[float, Field(gt=0)] = 10.0
    lag_seconds: Annotated[float, Field(ge=0)] = 30
    half_life_seconds: PositiveSeconds = 900
    burst_after_reports: Annotated[float, Field(ge=0)] = 50.0
    unsettled_rate_variation: Annotated[float, Field(ge=0, le=10)] = 1.0
