"""What a detector looks at: one view of a broadcast's window, the policy's figures it is
judged by, and the odds several detectors share.

A view is built for every report and judged by every detector, so what they share
is computed once here (:class:`ViewOdds`): the expectation at once, each tail on
first use. The rules that read them are in :mod:`alerting.detectors`.
"""

from __future__ import annotations

import math

from alerting.baseline import prior_rate
from alerting.policy import Policy
from alerting.ramp import broadcast_threshold
from alerting.stats import (
    poisson_upper_tail,
    wandering_rate_upper_tail,
    wandering_share_upper_tail,
)
from models.report import Category


class CategoryView:
    """What a detector may look at: one category's window on one broadcast, or all of them.

    ``weighted_reporters`` is the trust-weighted distinct count (suspect
    reporters weigh nothing); None means every reporter weighs 1.
    ``base_rate`` is the rate the expectation uses, per viewer-second: learned and
    scaled by the broadcast's own history (None: the category's prior).
    ``ramp_statistic`` is the broadcast's CUSUM (:mod:`alerting.ramp`), ``ramp_tilt`` the
    multiple of the broadcast's level it judges the category by (its own earlier rate;
    read only once the CUSUM reaches its threshold), and ``ramp_rate`` the category's rate
    at the broadcast's level without the tilt ``base_rate`` carries (0: the same), which
    the ramp's window condition reads; ``ramp_threshold`` the mark the CUSUM is held to on
    this broadcast (:func:`alerting.ramp.broadcast_threshold`; infinite: no ramp).
    ``recent_weighted`` is the weighted distinct reporters last active in the
    ``recent_seconds`` ending with the report's bucket (0 seconds: the short test does
    not apply), whose expectation is known within ``recent_variation``
    (:func:`alerting.stats.wandering_rate_upper_tail`).
    ``all_categories`` marks the broadcast-wide view: every category's reporters,
    each counted once, against the sum of the categories' rates; ``category`` is
    then the incident's leading category. ``own_weight`` is, for a broadcast of unknown
    audience, its weighted reporters in every category: the category is then judged by
    its share of them (0: the audience is known), and its short test the category's
    share of ``recent_own_weight``, the broadcast's weighted reporters in the short span.
    ``incident_loudness`` is, while an abuse incident is open on the broadcast, how many
    times louder than its level its categories outside the incident are
    (:meth:`alerting.expectation.Expectation.loudness_beside`; 1 otherwise): what keeps
    the incident open is read against the level raised by it.

    A plain class with slots rather than a named tuple or a frozen dataclass: two are
    built for every report, and compiled (mypyc) a plain class is a native object built
    without the interpreter, where a named tuple's ``__new__`` runs as Python code and a
    frozen dataclass pays an ``object.__setattr__`` call per field. Nothing changes a
    view once built.
    """

    __slots__ = (
        "all_categories",
        "base_rate",
        "category",
        "credible_reporters",
        "distinct_reporters",
        "incident_loudness",
        "own_weight",
        "ramp_rate",
        "ramp_statistic",
        "ramp_threshold",
        "ramp_tilt",
        "recent_own_weight",
        "recent_seconds",
        "recent_variation",
        "recent_weighted",
        "reports",
        "suspect_reporters",
        "viewers",
        "weighted_reporters",
        "window_seconds",
    )

    def __init__(
        self,
        category: Category,
        reports: int,
        distinct_reporters: int,
        credible_reporters: int,
        viewers: int | None,
        window_seconds: float,
        weighted_reporters: float | None = None,
        suspect_reporters: int = 0,
        base_rate: float | None = None,
        ramp_statistic: float = 0.0,
        recent_weighted: float = 0.0,
        recent_seconds: float = 0.0,
        recent_variation: float = 0.0,
        all_categories: bool = False,
        own_weight: float = 0.0,
        recent_own_weight: float = 0.0,
        ramp_rate: float = 0.0,
        ramp_tilt: float = 1.0,
        incident_loudness: float = 1.0,
        ramp_threshold: float = math.inf,
    ) -> None:
        self.category = category
        self.reports = reports
        self.distinct_reporters = distinct_reporters
        self.credible_reporters = credible_reporters
        self.viewers = viewers
        self.window_seconds = window_seconds
        self.weighted_reporters = weighted_reporters
        self.suspect_reporters = suspect_reporters
        self.base_rate = base_rate
        self.ramp_statistic = ramp_statistic
        self.recent_weighted = recent_weighted
        self.recent_seconds = recent_seconds
        self.recent_variation = recent_variation
        self.all_categories = all_categories
        self.own_weight = own_weight
        self.recent_own_weight = recent_own_weight
        self.ramp_rate = ramp_rate
        self.ramp_tilt = ramp_tilt
        self.incident_loudness = incident_loudness
        self.ramp_threshold = ramp_threshold

    @property
    def weighted(self) -> float:
        return (
            self.distinct_reporters if self.weighted_reporters is None else self.weighted_reporters
        )


class PolicyFigures:
    """The policy's figures that the detectors and the engine read for every report,
    copied once into plain attributes.

    The policy is a frozen pydantic model, and reading one of its fields goes through
    pydantic's attribute hook: compiled, those reads were a large share of the core's
    instructions per report. A native object's attribute is one load. The policy stays
    what explanations (:meth:`Detector.explain`) and everything off the per-report path
    read.
    """

    __slots__ = (
        "burst_min_expected",
        "clock_tolerance_seconds",
        "coordination_min_share",
        "coordination_min_suspects",
        "coordination_trigger_p_value",
        "credible_categories",
        "credible_min_account_age_days",
        "credible_min_trust",
        "default_viewers",
        "high_trust_bonus",
        "low_trust",
        "min_distinct_reporters",
        "min_viewers",
        "neutral_trust",
        "new_account_days",
        "ramp_marks",
        "ramp_min_weighted_reporters",
        "ramp_threshold",
        "ramp_window_p_value",
        "rate_variation",
        "sustain_p_value",
        "trigger_p_value",
        "trusted_flagger_weight",
        "unknown_prior_reporters",
    )

    def __init__(self, policy: Policy) -> None:
        spike, ramp, coordination = policy.spike, policy.ramp, policy.coordination
        credible, trust = policy.credible_report, policy.trust
        self.trigger_p_value: float = spike.trigger_p_value
        self.sustain_p_value: float = spike.sustain_p_value
        self.min_distinct_reporters: int = spike.min_distinct_reporters
        self.min_viewers: int = spike.min_viewers
        self.default_viewers: int = spike.default_viewers
        self.burst_min_expected: float = spike.burst_min_expected
        self.rate_variation: float = spike.rate_variation
        self.ramp_threshold: float = ramp.threshold
        self.ramp_marks: tuple[float, ...] = tuple(
            broadcast_threshold(ramp.threshold, reported) for reported in range(len(Category) + 1)
        )
        """A broadcast's ramp mark by the number of categories it reports, worked out once:
        every report reads it (:func:`alerting.ramp.broadcast_threshold`)."""
        self.ramp_window_p_value: float = ramp.window_p_value
        self.ramp_min_weighted_reporters: float = ramp.min_weighted_reporters
        self.coordination_min_suspects: int = coordination.min_suspect_reporters
        self.coordination_min_share: float = coordination.min_suspect_share
        self.coordination_trigger_p_value: float = coordination.trigger_p_value
        self.credible_categories: frozenset[Category] = credible.categories
        self.credible_min_trust: float = credible.min_trust
        self.credible_min_account_age_days: int = credible.min_account_age_days
        self.neutral_trust: float = trust.neutral_trust
        self.high_trust_bonus: float = trust.high_trust_bonus
        self.trusted_flagger_weight: float = trust.trusted_flagger_weight
        self.low_trust: float = trust.low_trust
        self.new_account_days: int = trust.new_account_days
        self.unknown_prior_reporters: float = trust.unknown_prior_reporters
        self.clock_tolerance_seconds: float = policy.window.clock_tolerance_seconds

    def audience(self, viewers: int | None) -> int:
        """Viewers the expectation counts: the default when unknown, floored at
        ``min_viewers`` so that a broadcast claiming 0 viewers does not make every report
        improbable."""
        return max(viewers if viewers is not None else self.default_viewers, self.min_viewers)


def expected_reports(
    view: CategoryView, policy: Policy, figures: PolicyFigures | None = None
) -> tuple[float, int]:
    """Reports a benign broadcast of this audience would draw in the window: ``(expected,
    audience)``; ``figures`` are the policy's, when the caller has them."""
    if figures is None:
        figures = PolicyFigures(policy)
    audience = figures.audience(view.viewers)
    rate = view.base_rate if view.base_rate is not None else prior_rate(policy, view.category)
    return rate * audience * view.window_seconds, audience


_NOT_YET = -1.0
"""A tail not computed yet (every probability is at least 0): a float, not None, so that
compiled it stays unboxed."""


class ViewOdds:
    """One view under one policy, with the figures several detectors share.

    The expectation is computed at once (every decision and every explanation
    needs it); each Poisson tail on first use, and at most once however many
    detectors (and explanations) ask for it.
    """

    __slots__ = (
        "_p_value",
        "_recent_p_value",
        "_suspect_p_value",
        "audience",
        "expected",
        "figures",
        "observed",
        "policy",
        "view",
    )

    def __init__(
        self, view: CategoryView, policy: Policy, figures: PolicyFigures | None = None
    ) -> None:
        self.view = view
        self.policy = policy
        self.figures = figures if figures is not None else PolicyFigures(policy)
        """The policy's figures the rules compare with (the engine builds them once)."""
        self.expected: float
        """Reports a benign broadcast of this audience draws in the window."""
        self.audience: int
        """Viewers, or the default when unknown, floored at ``min_viewers``."""
        self.expected, self.audience = expected_reports(view, policy, self.figures)
        self.observed = int(view.weighted + 1e-9)
        """Whole trust-weighted distinct reporters."""
        self._p_value = _NOT_YET
        self._suspect_p_value = _NOT_YET
        self._recent_p_value = _NOT_YET

    @property
    def p_value(self) -> float:
        """Upper tail of :attr:`observed` under :attr:`expected`, the rate wandering by the
        policy's ``rate_variation`` (:func:`alerting.stats.wandering_rate_upper_tail`);
        of a broadcast of unknown audience, the tail of the category's share of its own
        weighted reporters (:func:`alerting.stats.wandering_share_upper_tail`)."""
        if self._p_value == _NOT_YET:
            self._p_value = self._upper_tail(
                self.observed, self.expected, self.view.own_weight, self.figures.rate_variation
            )
        return self._p_value

    @property
    def recent_expected(self) -> float:
        """What ``recent_seconds`` of the window expect (0: no short test); of a broadcast of
        unknown audience, the category's share of the span's own reporters."""
        view = self.view
        if view.recent_seconds <= 0 or view.window_seconds <= 0:
            return 0.0
        if view.own_weight > 0.0:
            return self.expected / view.own_weight * view.recent_own_weight
        return self.expected * view.recent_seconds / view.window_seconds

    @property
    def recent_observed(self) -> int:
        return int(self.view.recent_weighted + 1e-9)

    @property
    def recent_p_value(self) -> float:
        """Upper tail of the short span's weighted reporters (1 without a short test): as
        :attr:`p_value`, the rate's tail, or the share's of a broadcast of unknown audience.
        A reporter counts in the span where it was last active, in the category and in the
        broadcast alike; a late report's span can hold a reporter of the category who has
        been active in another since, so the span's reporters are at least the category's."""
        if self._recent_p_value == _NOT_YET:
            view = self.view
            expected = self.recent_expected
            self._recent_p_value = (
                self._upper_tail(
                    self.recent_observed, expected, view.recent_own_weight, view.recent_variation
                )
                if expected >= self.figures.burst_min_expected
                else 1.0
            )
        return self._recent_p_value

    def _upper_tail(
        self, observed: int, expected: float, own_reporters: float, variation: float
    ) -> float:
        """The tail both tests share: of the rate, or, for a broadcast of unknown audience,
        of the category's share of ``own_reporters``, the broadcast's weighted reporters
        in the span judged (never fewer than the category's own)."""
        own_weight = self.view.own_weight
        if own_weight > 0.0:
            return wandering_share_upper_tail(
                observed,
                max(observed, int(own_reporters + 1e-9)),
                self.expected / own_weight,
                variation,
            )
        return wandering_rate_upper_tail(observed, expected, variation)

    @property
    def sustain_p_value(self) -> float:
        """:attr:`p_value` with the expectation raised by the view's ``incident_loudness``:
        the tail an open incident is kept open by. A large broadcast that keeps getting
        louder runs ahead of its level (behind by its lag and half-life) in every category,
        spam and copyright as much as abuse, and judged against the level alone its window
        stayed above the low mark somewhere every few minutes: an incident opened by a
        surge stayed open for half an hour or more after the surge. Abuse still going on
        is loud in the incident's categories beside the rest; a broadcast louder all over
        is not."""
        loudness = self.view.incident_loudness
        if loudness <= 1.0:
            return self.p_value
        return wandering_rate_upper_tail(
            self.observed, self.expected * loudness, self.figures.rate_variation
        )

    @property
    def ramp_p_value(self) -> float:
        """:attr:`p_value` at the broadcast's level without the category's tilt: the tilt
        follows a climb within a minute, and the window's tail under it would keep a ramp
        from ever paging. The CUSUM judges the category against its own earlier rate; the
        window only has to be above the ordinary level, so that an excursion long past
        cannot page on its own."""
        view = self.view
        if (
            view.base_rate is None
            or view.base_rate <= 0.0
            or view.ramp_rate <= 0.0
            or view.ramp_rate == view.base_rate
        ):
            return self.p_value
        return wandering_rate_upper_tail(
            self.observed,
            self.expected * view.ramp_rate / view.base_rate,
            self.figures.rate_variation,
        )

    @property
    def suspect_p_value(self) -> float:
        """Poisson upper tail of the suspect reporters under :attr:`expected`."""
        if self._suspect_p_value == _NOT_YET:
            self._suspect_p_value = poisson_upper_tail(self.view.suspect_reporters, self.expected)
        return self._suspect_p_value
