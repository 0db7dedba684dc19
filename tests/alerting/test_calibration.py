"""Priors from a report log: the platform's rates, not its abuse."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta

import pytest
import yaml

from alerting.calibration import (
    Calibration,
    Calibrator,
    CredibleReports,
    CredibleTally,
    calibrated_version,
    with_calibration,
)
from alerting.policy import DEFAULT_POLICY_PATH, Policy
from models.report import Category, ReportEvent
from tests.alerting.helpers import HIGH_TRUST, ORDINARY, T0, TRUSTED_FLAGGER, burst, make_report
from tests.alerting.platform import Platform, platform_reports


def calibrate(reports: Iterable[ReportEvent], policy: Policy) -> Calibration:
    """What ``spikewatch calibrate`` learns from ``reports`` read in order as one partition."""
    calibrator = Calibrator(policy)
    for report in reports:
        calibrator.observe(report)
    return calibrator.result()


def credible_reports(reports: Iterable[ReportEvent], policy: Policy) -> CredibleReports:
    tally = CredibleTally(policy)
    for report in reports:
        tally.add(report)
    return tally.result()


LOUD = (Category.HARASSMENT, Category.SPAM, Category.OTHER, Category.ADULT_CONTENT)


@pytest.mark.parametrize("scale", [0.2, 5.0])
def test_calibrating_on_a_platform_log_finds_its_rates(policy: Policy, scale: float) -> None:
    reports = platform_reports(policy, Platform(scale=scale, minutes=10))
    rates = calibrate(reports, policy).rates
    for category in LOUD:
        ratio = rates[category] / policy.category(category).base_rate_per_viewer_second
        assert scale / 2 <= ratio <= scale * 2, f"{category.value}: {ratio:.2f} x the prior"


def test_a_surge_in_the_log_does_not_become_the_platforms_rate(policy: Policy) -> None:
    reports = platform_reports(policy, Platform(scale=1.0, minutes=10))
    honest = calibrate(reports, policy).rates
    surge = burst(200, start=reports[0].event_time + 60, spacing=0.5, reporter=HIGH_TRUST)
    poisoned = calibrate(sorted(reports + surge, key=lambda r: r.event_time), policy).rates
    assert poisoned[Category.HARASSMENT] <= 1.1 * honest[Category.HARASSMENT]


def test_a_log_of_reporters_trusted_above_neutral_is_counted_in_its_own_reporters(
    policy: Policy,
) -> None:
    """Every ordinary reporter weighs 1.58: the rates written are counted in such
    reporters, with the dispersion that says so (pinned together, they judge as the worker
    learning both would)."""
    reports = platform_reports(policy, Platform(scale=2.0, minutes=10, trust=0.79))
    calibration = calibrate(reports, policy)
    assert calibration.weight_dispersion == pytest.approx(1.58, rel=0.01)
    ratio = (
        calibration.rates[Category.HARASSMENT]
        / policy.category(Category.HARASSMENT).base_rate_per_viewer_second
    )
    assert 1.0 <= ratio <= 4.0 / 1.58


def shifted(reports: list[ReportEvent], seconds: float, tag: str) -> list[ReportEvent]:
    """``reports`` ``seconds`` later, from reporters of their own."""
    return [
        report.model_copy(
            update={
                "reported_at": report.reported_at + timedelta(seconds=seconds),
                "reporter_id": f"{tag}-{report.reporter_id}",
                "report_id": f"{tag}-{report.report_id}",
            }
        )
        for report in reports
    ]


def total_rate(calibration: Calibration) -> float:
    return math.fsum(calibration.rates.values())


def test_a_log_whose_platform_quietens_calibrates_to_its_whole_span(policy: Policy) -> None:
    """Five minutes at four times the priors, then five at the priors: the rates written
    are the whole log's, about the halves' mean, not its last minutes' (which the
    worker's two-minute level half-life made them). Quieter rather than
    louder: a platform four times louder within a second looks like abuse to the guards,
    which rightly keep it from teaching."""
    loud = platform_reports(policy, Platform(scale=4.0, minutes=5, seed=8))
    quiet = shifted(platform_reports(policy, Platform(scale=1.0, minutes=5)), 300, "later")
    halves = (total_rate(calibrate(loud, policy)) + total_rate(calibrate(quiet, policy))) / 2
    assert total_rate(calibrate(loud + quiet, policy)) == pytest.approx(halves, rel=0.15)


def test_partitions_read_one_after_another_calibrate_as_read_together(policy: Policy) -> None:
    """A topic is read a partition at a time; each has its own learner, as in the worker,
    and without forgetting their sums do not depend on the order they were read in."""
    reports = platform_reports(policy, Platform(scale=2.0, minutes=6))
    broadcasts = sorted({report.broadcast_id for report in reports})
    partition = {broadcast: index % 4 for index, broadcast in enumerate(broadcasts)}
    together, apart = Calibrator(policy), Calibrator(policy)
    for report in reports:
        together.observe(report, partition[report.broadcast_id])
    for number in range(4):
        for report in reports:
            if partition[report.broadcast_id] == number:
                apart.observe(report, number)
    assert apart.result() == together.result()


def test_a_long_log_holds_only_the_broadcasts_of_its_last_minutes(policy: Policy) -> None:
    """Ticked as replay ticks, idle broadcasts are dropped: three hundred broadcasts, one
    every twenty seconds for a hundred minutes, each reporting three times."""
    calibrator = Calibrator(policy)
    for number in range(300):
        for click in range(3):
            calibrator.observe(
                make_report(
                    f"viewer-{number}-{click}",
                    at=T0 + number * 20.0 + click,
                    broadcast_id=f"b-{number}",
                    reporter=ORDINARY,
                )
            )
    live_seconds = (
        policy.window.length_seconds
        + policy.window.allowed_lateness_seconds
        + policy.lifecycle.resolve_after_quiet_seconds
    )
    assert calibrator.broadcasts_held <= live_seconds / 20 + 2


def test_the_written_policy_is_the_old_one_with_the_new_rates(policy: Policy) -> None:
    document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    rates = {category: 1e-6 * (index + 1) for index, category in enumerate(Category)}

    written = Policy.model_validate(with_calibration(document, Calibration(rates, 1.25)))

    for category in Category:
        assert written.category(category).base_rate_per_viewer_second == rates[category]
        assert written.category(category).team == policy.category(category).team
    assert written.learning.weight_dispersion == 1.25
    assert written.learning.model_dump(exclude={"weight_dispersion"}) == (
        policy.learning.model_dump(exclude={"weight_dispersion"})
    )
    untouched = {"categories", "policy_version", "learning"}
    assert written.model_dump(exclude=untouched) == policy.model_dump(exclude=untouched)
    assert written.policy_version == f"{policy.policy_version}-calibrated"


def test_a_calibrated_version_stays_within_the_limit_and_is_not_stacked() -> None:
    assert calibrated_version("v1-calibrated") == "v1-calibrated"
    long = calibrated_version("x" * 64)
    assert len(long) == 64
    assert long.endswith("-calibrated")


@pytest.mark.parametrize(("trust", "all_credible"), [(0.79, False), (0.9, True)])
def test_credible_reports_counts_those_one_of_which_would_page(
    policy: Policy, trust: float, all_credible: bool
) -> None:
    reports = platform_reports(policy, Platform(scale=3.0, minutes=10, trust=trust))
    credible = credible_reports(reports, policy)
    assert credible.scored == len(reports)
    assert credible.credible == (len(reports) if all_credible else 0)
    assert credible.too_many is all_credible
    assert credible.trust_quantiles == (trust, trust)
    single = {
        report.broadcast_id
        for report in reports
        if report.category in policy.credible_report.categories
    }
    assert credible.broadcasts_paged == (len(single) if all_credible else 0)
    assert not all_credible or credible.broadcasts_paged > 0, "the log must hold such reports"


def test_trusted_flaggers_and_reporters_without_a_score_are_not_counted(policy: Policy) -> None:
    flaggers = burst(5, start=T0, spacing=1.0, reporter=TRUSTED_FLAGGER)
    unscored = burst(5, start=T0, spacing=1.0, reporter={"account_age_days": 90})
    credible = credible_reports(flaggers + unscored, policy)
    assert (credible.credible, credible.scored, credible.trust_quantiles) == (0, 0, None)
    assert not credible.too_many


def test_the_trust_quantiles_are_the_scored_reports_to_a_hundredth(policy: Policy) -> None:
    """Nine reports at 0.3 and one at 0.95: the median is 0.3, the 90th percentile too
    (nine in ten are at or below it); a tenth more at 0.95 moves it there."""
    low = burst(9, start=T0, reporter={**HIGH_TRUST, "trust": 0.3})
    high = burst(1, start=T0, prefix="trusted", reporter=HIGH_TRUST)
    assert credible_reports(low + high, policy).trust_quantiles == (0.3, 0.3)
    more = burst(1, start=T0, prefix="also", reporter=HIGH_TRUST)
    credible = credible_reports(low + high + more, policy)
    assert credible.trust_quantiles == (0.3, 0.95)
    assert (credible.credible, credible.scored) == (2, 11)
