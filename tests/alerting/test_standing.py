"""Trust weighting: who counts how much in the abuse statistic, and who not at all."""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping
from typing import Any

import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.standing import (
    holds_suspect_burst,
    reporter_standing,
    scaled_standing,
    unknown_weight_lost,
)
from alerting.state import BroadcastState
from alerting.window import CategoryWindow
from models.escalation import EventAction
from models.report import Category, ReporterInfo, ReportEvent
from tests.alerting.helpers import ORDINARY, T0, TRUSTED_FLAGGER, burst, make_report

NEW_ACCOUNT = {"account_age_days": 1, "trust": 0.4, "was_viewing": True}
LOW_TRUST = {"account_age_days": 400, "trust": 0.05, "was_viewing": True}
NOT_WATCHING: dict[str, Any] = {"account_age_days": 400, "trust": 0.4, "was_viewing": False}


def standing(engine: DetectionEngine, reporter: Mapping[str, object] | None) -> tuple[int, bool]:
    info = None if reporter is None else ReporterInfo.model_validate(reporter)
    result = reporter_standing(info, engine.figures)
    return result.weight_milli, result.suspect


def test_a_reporter_the_front_end_says_nothing_about_weighs_exactly_one(
    engine: DetectionEngine,
) -> None:
    assert standing(engine, None) == (1000, False)
    assert standing(engine, {}) == (1000, False)
    assert standing(engine, ORDINARY) == (1000, False)


def test_trust_above_neutral_adds_weight_up_to_the_bonus(
    engine: DetectionEngine, policy: Policy
) -> None:
    assert standing(engine, {"trust": 0.75}) == (1500, False)
    assert standing(engine, {"trust": 1.0}) == (
        round(1000 * (1 + policy.trust.high_trust_bonus)),
        False,
    )


def test_trusted_flagger_weighs_the_policy_weight_even_if_new(
    engine: DetectionEngine, policy: Policy
) -> None:
    assert standing(engine, TRUSTED_FLAGGER)[0] == round(1000 * policy.trust.trusted_flagger_weight)
    assert standing(engine, {"trusted_flagger": True, "account_age_days": 0}) == (2000, False)


@pytest.mark.parametrize("reporter", [NEW_ACCOUNT, LOW_TRUST, NOT_WATCHING])
def test_new_low_trust_or_non_viewing_reporters_are_suspect_and_weigh_nothing(
    engine: DetectionEngine, reporter: Mapping[str, object]
) -> None:
    assert standing(engine, reporter) == (0, True)


def test_two_trusted_flaggers_and_one_viewer_reach_the_floor_of_five(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    sent = []
    sent += engine.observe(state, make_report("f1", reporter=TRUSTED_FLAGGER)).escalations
    sent += engine.observe(
        state, make_report("f2", at=T0 + 1, reporter=TRUSTED_FLAGGER)
    ).escalations
    assert sent == []
    sent += engine.observe(state, make_report("v", at=T0 + 2, reporter=ORDINARY)).escalations
    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    assert state.windows[Category.HARASSMENT].weighted_reporters == 5.0


def test_thirty_suspect_reporters_never_make_an_abuse_incident(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    for report in burst(30, reporter=NOT_WATCHING):
        for escalation in engine.observe(state, report).escalations:
            assert not escalation.escalation_class.is_abuse
    assert state.incidents == {}
    assert state.windows[Category.HARASSMENT].weighted_reporters == 0
    assert state.windows[Category.HARASSMENT].suspect_reporters == 30


def test_a_suspect_who_later_reports_while_watching_stops_being_suspect(
    engine: DetectionEngine,
) -> None:
    state = BroadcastState("b-1")
    engine.observe(state, make_report("u", reporter=NOT_WATCHING))
    engine.observe(state, make_report("u", at=T0 + 1, reporter=ORDINARY))
    window = state.windows[Category.HARASSMENT]
    assert (window.suspect_reporters, window.weighted_reporters) == (0, 1.0)
    assert window.distinct_reporters == 1


def test_weights_survive_the_state_round_trip_exactly(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    for index, reporter in enumerate([TRUSTED_FLAGGER, {"trust": 0.7}, NEW_ACCOUNT, ORDINARY]):
        engine.observe(state, make_report(f"u{index}", at=T0 + index, reporter=reporter))
    restored = BroadcastState.from_bytes(state.to_bytes())
    before, after = state.windows[Category.HARASSMENT], restored.windows[Category.HARASSMENT]
    assert after.weight_milli == before.weight_milli == 2000 + 1400 + 0 + 1000
    assert after.suspect_reporters == before.suspect_reporters == 1


@pytest.mark.parametrize(
    ("reporter", "dispersion", "weight_milli"),
    [
        ({"trust": 0.75}, 1.25, 1200),
        (TRUSTED_FLAGGER, 1.25, 1600),
        ({"trust": 0.55}, 1.25, 1000),
        (ORDINARY, 1.25, 1000),
        (None, 1.6, 1000),
        (NOT_WATCHING, 1.6, 0),
        ({"trust": 0.75}, 1.0, 1500),
    ],
)
def test_a_weight_is_counted_in_the_platforms_ordinary_reporters_and_never_below_one(
    engine: DetectionEngine,
    reporter: Mapping[str, object] | None,
    dispersion: float,
    weight_milli: int,
) -> None:
    """Divided by how far the platform's reporters' weights spread: a reporter of 1.5 where
    ordinary ones weigh about 1.25 counts 1.2; one the platform scores ordinary counts one,
    not less; a suspect still nothing, and credibility is untouched."""
    info = None if reporter is None else ReporterInfo.model_validate(reporter)
    raw = reporter_standing(info, engine.figures)
    scaled = scaled_standing(raw, dispersion)
    assert scaled.weight_milli == weight_milli
    assert (scaled.credible, scaled.suspect, scaled.unknown) == (
        raw.credible,
        raw.suspect,
        raw.unknown,
    )


OLD_LOW_TRUST: dict[str, Any] = {"account_age_days": 400, "trust": 0.2, "was_viewing": True}
"""Not suspect (above the low-trust mark), so one ordinary reporter: what a campaign's
older accounts look like."""


def campaign(suspects: int, unknown: int, old_accounts: int) -> list[ReportEvent]:
    """A campaign's accounts in one burst on a 100-viewer broadcast, in a shuffled order:
    mostly suspect, some through an app that sends no ``reporter`` object, a few old
    low-trust accounts."""
    reporters: list[dict[str, Any] | None] = (
        [NOT_WATCHING] * suspects + [None] * unknown + [OLD_LOW_TRUST] * old_accounts
    )
    random.Random(suspects).shuffle(reporters)
    return [
        make_report(f"c{index}", at=T0 + index * 0.5, reporter=reporter, viewers=100)
        for index, reporter in enumerate(reporters)
    ]


@pytest.mark.parametrize(("suspects", "unknown", "old_accounts"), [(40, 6, 3), (25, 5, 4)])
def test_a_campaign_whose_accounts_send_no_reporter_pages_nobody(
    engine: DetectionEngine, suspects: int, unknown: int, old_accounts: int
) -> None:
    """Counted as ordinary viewers, the accounts without a ``reporter`` object and the old
    low-trust ones made a campaign on a 100-viewer broadcast an abuse spike."""
    state = BroadcastState("b-1")
    for report in campaign(suspects, unknown, old_accounts):
        for escalation in engine.observe(state, report).escalations:
            assert not escalation.escalation_class.is_abuse, escalation.summary
    window = state.windows[Category.HARASSMENT]
    assert window.unknown_reporters >= unknown
    assert window.weighted_reporters >= 5, "counted as ordinary, they would reach the floor"


def test_a_surge_from_apps_that_send_no_reporter_still_pages(engine: DetectionEngine) -> None:
    state = BroadcastState("b-1")
    for report in burst(3, reporter=NOT_WATCHING, prefix="suspect"):
        engine.observe(state, report)
    sent = [
        escalation
        for report in burst(8, start=T0 + 10)
        for escalation in engine.observe(state, report).escalations
    ]
    assert [e.event_action for e in sent if e.escalation_class.is_abuse][:1] == [
        EventAction.TRIGGER
    ]


def test_unknown_reporters_keep_the_known_ones_share_in_a_burst_and_where_most_are_suspect(
    engine: DetectionEngine, policy: Policy
) -> None:
    figures, marks = engine.figures, policy.coordination
    prior = policy.trust.unknown_prior_reporters
    broadcast = functools.partial(_window, engine)

    def lost(unknown: int, window: CategoryWindow) -> float:
        """As ``ReportViews.view`` asks it: the burst once, then the weight lost."""
        burst = holds_suspect_burst(window, figures)
        return unknown_weight_lost(unknown, window, figures, burst=burst)

    few = marks.min_suspect_reporters - 1
    assert lost(10, broadcast(0, 10, 0)) == 0.0, "nothing known against them"
    assert lost(10, broadcast(0, 10, 6)) == 0.0, "all known ones ordinary"
    assert lost(0, broadcast(30, 0, 10)) == 0.0
    assert lost(5, broadcast(few, 5, 0)) == pytest.approx(5 * few / (few + prior))
    half = (marks.min_suspect_reporters + 1) // 2
    assert lost(5, broadcast(half, 5, half - 1)) == pytest.approx(
        5 * half / (2 * half - 1 + prior)
    ), "most suspect, half a burst's count"
    assert lost(5, broadcast(half, 5, half)) == 0.0, "half of the known ones ordinary"
    assert lost(5, broadcast(half - 1, 5, 0)) == 0.0, "a stray suspect or two"
    assert lost(5, broadcast(10, 5, 25)) == 0.0, "suspects a minority"
    assert lost(6, broadcast(30, 6, 4)) == pytest.approx(6 * 30 / 34), "a burst: no prior"
    assert lost(2, broadcast(30, 6, 4)) == pytest.approx(2 * 30 / 34)


def test_a_campaigns_first_unknown_accounts_stay_under_the_floor_before_its_burst(
    engine: DetectionEngine,
) -> None:
    """Seen on the independent generator's traffic: six suspects and five accounts from
    apps that send no ``reporter`` on a 53-viewer broadcast, the suspects short of the
    burst's mark; counted as ordinary, the five paged."""
    state = BroadcastState("b-1")
    reporters: list[dict[str, Any] | None] = [NOT_WATCHING] * 6 + [None] * 5
    for index, reporter in enumerate(reporters):
        report = make_report(f"c{index}", at=T0 + index * 4, reporter=reporter, viewers=53)
        for escalation in engine.observe(state, report).escalations:
            assert not escalation.escalation_class.is_abuse, escalation.summary
    assert not holds_suspect_burst(state.combined, engine.figures)
    assert state.combined.weighted_reporters >= 5, "counted as ordinary, they reach the floor"


def test_a_surge_from_apps_that_send_no_reporter_pages_at_five_beside_stray_suspects(
    engine: DetectionEngine, policy: Policy
) -> None:
    """A fraction lost to a stray suspect or two would cost a whole reporter at the floor:
    short of half a burst's count of suspects, unknown reporters keep their weight."""
    stray = (policy.coordination.min_suspect_reporters + 1) // 2 - 1
    state = BroadcastState("b-1")
    for index in range(stray):
        engine.observe(
            state, make_report(f"s{index}", at=T0 + index, reporter=NOT_WATCHING, viewers=200)
        )
    paged_at = [
        index
        for index in range(6)
        for escalation in engine.observe(
            state, make_report(f"u{index}", at=T0 + 10 + index, reporter=None, viewers=200)
        ).escalations
        if escalation.escalation_class.is_abuse
    ]
    assert paged_at[:1] == [4], "the fifth reporter pages"


def _window(engine: DetectionEngine, suspects: int, unknown: int, ordinary: int) -> CategoryWindow:
    """The broadcast-wide window of a broadcast reported by these reporters."""
    state = BroadcastState("b-1")
    reporters: list[dict[str, Any] | None] = (
        [NOT_WATCHING] * suspects + [None] * unknown + [ORDINARY] * ordinary
    )
    for index, reporter in enumerate(reporters):
        engine.observe(state, make_report(f"r{index}", at=T0 + index * 0.1, reporter=reporter))
    return state.combined


def test_a_campaign_across_two_categories_is_one_burst(engine: DetectionEngine) -> None:
    """Most of its suspects file under one category, its unknown and old accounts under
    another, whose own window is not a burst (half its reporters suspect): the broadcast's
    window is, and the unknown accounts weigh what it says of them."""
    state = BroadcastState("b-1")
    reports: list[tuple[str, dict[str, Any] | None]] = [("violent_threat", NOT_WATCHING)] * 15
    reports[::3] = [("hateful_conduct", NOT_WATCHING)] * 5
    reports += [("hateful_conduct", None)] * 4 + [("hateful_conduct", OLD_LOW_TRUST)]
    for index, (category, reporter) in enumerate(reports):
        report = make_report(
            f"c{index}", at=T0 + index * 0.5, reporter=reporter, viewers=100, category=category
        )
        for escalation in engine.observe(state, report).escalations:
            assert not escalation.escalation_class.is_abuse, escalation.summary
    hateful = state.windows[Category.HATEFUL_CONDUCT]
    assert (
        hateful.suspect_reporters
        < engine.figures.coordination_min_share * hateful.distinct_reporters
    )
    assert hateful.weighted_reporters >= 5, "counted as ordinary, they would reach the floor"
