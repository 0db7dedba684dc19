"""A reporter's standing: whether one report can page alone, how much it weighs, and
whether it only feeds the coordination detector.

Unknown fields neither help nor hurt (older clients omit them): a reporter the front
end says nothing about weighs exactly 1. A known bad value does count: a brand-new
account, a low-trust one or one that was not watching weighs nothing in the abuse
statistic, so a false-reporting campaign cannot page on its own.
"""

from __future__ import annotations

import math

from alerting.reporter_mark import WEIGHT_UNIT, ReporterStanding
from alerting.views import PolicyFigures
from alerting.window import CategoryWindow
from models.report import ReporterInfo

UNKNOWN_REPORTER = ReporterStanding(False, WEIGHT_UNIT, False, unknown=True)
"""A reporter the front end says nothing about: shared, as the standings below (a window
only reads a standing)."""
_SUSPECT = ReporterStanding(False, 0, True)
_CREDIBLE_SUSPECT = ReporterStanding(True, 0, True)


def reporter_standing(reporter: ReporterInfo | None, figures: PolicyFigures) -> ReporterStanding:
    """Credibility, trust weight and suspicion of one report's reporter.

    Each field is read once: reading a field of a pydantic model costs far more than a
    local variable, and this runs for every report.
    """
    if reporter is None:
        return UNKNOWN_REPORTER
    age, trust = reporter.account_age_days, reporter.trust
    viewing, flagger = reporter.was_viewing, reporter.trusted_flagger
    credible = is_credible(age, trust, viewing, flagger, figures)
    suspect = (
        (age is not None and age < figures.new_account_days)
        or (trust is not None and trust < figures.low_trust)
        or viewing is False
    ) and not flagger
    if suspect:
        return _CREDIBLE_SUSPECT if credible else _SUSPECT
    weight = 1.0
    if trust is not None and trust > figures.neutral_trust:
        weight += (
            figures.high_trust_bonus * (trust - figures.neutral_trust) / (1 - figures.neutral_trust)
        )
    if flagger:
        weight = max(weight, figures.trusted_flagger_weight)
    return ReporterStanding(credible, math.floor(weight * WEIGHT_UNIT + 0.5), False)


def is_credible(
    age: int | None,
    trust: float | None,
    viewing: bool | None,
    flagger: bool | None,
    figures: PolicyFigures,
) -> bool:
    """Trusted flaggers, or high-trust accounts that are old enough and were watching: a
    brand-new account or a reporter who was not watching cannot page on-call with a single
    report."""
    if flagger:
        return True
    return (
        trust is not None
        and trust >= figures.credible_min_trust
        and viewing is not False
        and (age is None or age >= figures.credible_min_account_age_days)
    )


def scaled_standing(standing: ReporterStanding, dispersion: float) -> ReporterStanding:
    """``standing`` with its weight counted in ordinary reporters of a platform whose
    reporters' weights spread by ``dispersion``
    (:meth:`alerting.baseline.BaseRateLearner.dispersion`), and never below one: a reporter
    who is not suspect is one reporter, and trust adds to that only above what the
    platform's ordinary reporters have. Divided below one, a platform whose reporters
    weigh 1.0 to 1.2 made five reporters of weight one 4.85, one fewer than the floor."""
    weight_milli = standing.weight_milli
    if dispersion == 1.0 or weight_milli <= WEIGHT_UNIT:
        return standing
    scaled = math.floor(weight_milli / dispersion + 0.5)
    return ReporterStanding(
        standing.credible,
        scaled if scaled > WEIGHT_UNIT else WEIGHT_UNIT,
        standing.suspect,
        standing.unknown,
    )


def holds_suspect_burst(broadcast: CategoryWindow, figures: PolicyFigures) -> bool:
    """Whether the broadcast's window across its abuse categories holds a synchronised burst
    of suspects: as many, and as large a share, as the coordination detector fires at."""
    suspects = broadcast.suspect_reporters
    return (
        suspects >= figures.coordination_min_suspects
        and suspects >= figures.coordination_min_share * broadcast.distinct_reporters
    )


def unknown_weight_lost(
    unknown: int, broadcast: CategoryWindow, figures: PolicyFigures, *, burst: bool
) -> float:
    """The weight (in reporters) a window's ``unknown`` reporters lose to what
    ``broadcast``, the window across the broadcast's abuse categories, says of its known
    reporters: while it holds a synchronised ``burst`` of suspects
    (:func:`holds_suspect_burst`, asked once for a report's views), each unknown one keeps
    the share of them that are not suspect; short of one, where most known reporters are
    suspect, the share of them beside ``trust.unknown_prior_reporters`` ordinary ones.

    An unknown reporter weighs one ordinary viewer because the front end said nothing
    about it, and that is right among ordinary reporters. In a campaign it is not: the
    campaign's accounts reach the platform through the same apps as everyone else's, so
    some of them carry no ``reporter`` object, and those, with the campaign's few old
    low-trust accounts, reached an abuse spike's floor on small broadcasts. What the
    broadcast's window knows about its other reporters is the best guess about these.
    The burst is the broadcast's, not the category's: a campaign filing under two
    categories holds the marks in neither category's window long before it holds them
    across both.

    Short of the burst's marks the guess is shrunk towards ordinary, and made only where
    the known reporters are mostly suspect and the suspects half the burst's count, a
    campaign on its way to the burst: a campaign's first minute, six suspects and
    five unknown accounts, paged before its suspects reached the burst's mark, where its
    unknowns weighing what its known reporters say of them would have kept it under the
    floor. Elsewhere nothing is lost: a genuine surge holds a stray suspect now and then,
    and a fraction lost there cost a whole reporter at the floor, seconds on surges from
    apps that send no ``reporter``. A surge filed entirely from such apps has no known
    reporters to tell against it, and weighs one a reporter.
    """
    suspects = broadcast.suspect_reporters
    if unknown == 0 or suspects == 0:
        return 0.0
    known = broadcast.distinct_reporters - broadcast.unknown_reporters
    if burst:
        return unknown * suspects / known
    if 2 * suspects <= known or 2 * suspects < figures.coordination_min_suspects:
        return 0.0
    return unknown * suspects / (known + figures.unknown_prior_reporters)
