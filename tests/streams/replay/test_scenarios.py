"""The confounder scenarios: what their traffic holds, and how the policy fares on it.

The first half checks the generated traffic itself (the skewed clocks are
skewed, the late reports are late, the large broadcasts report at their own
rates, ...), because a scenario that silently lost its confounder would make
every detection figure below meaningless. The second half replays each
scenario, shrunk to five minutes, with the default policy from a cold start
and asserts the targets of issue 13. Targets the current detection core does
not meet yet are marked ``xfail(strict=True)``: they must start passing (and
lose the mark) when it does.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from alerting.policy import load_policy
from models.escalation import EventAction
from models.report import Category
from streams.cli import main
from streams.logs import configure_logging
from streams.replay.figures import replay_log
from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import SCENARIO_START, ScenarioMessage, platform_rates
from streams.replay.scenarios.catalogue import build_scenario
from streams.replay.scenarios.confounders import CONFOUNDERS
from streams.replay.scoring import ScoreCard
from streams.replay.session import ReplayResult, file_messages
from streams.replay.traffic import REFERENCE_RATES

POLICY = load_policy()
PARTITIONS = 4
SEED = 1
DURATION = 300.0


@functools.cache
def messages(name: str, seed: int = SEED) -> tuple[ScenarioMessage, ...]:
    """A scenario shrunk for tests: five minutes, a light background on 80 broadcasts."""
    return tuple(
        build_scenario(name, seed=seed, duration=DURATION, background_rate=4.0, broadcasts=80)
    )


def reports(name: str) -> list[dict[str, Any]]:
    return [orjson.loads(m.value) for m in messages(name)]


def time_of(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def made_at(report: dict[str, Any]) -> float:
    return time_of(report["label"].get("made_at") or report["reported_at"])


def by_incident(name: str) -> dict[str, list[dict[str, Any]]]:
    incidents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for report in reports(name):
        if "incident" in report["label"]:
            incidents[report["label"]["incident"]].append(report)
    return incidents


# The traffic.


@pytest.mark.parametrize("name", list(CONFOUNDERS))
def test_every_line_is_labelled_and_in_kafka_order_with_its_record_timestamp(name: str) -> None:
    lines = reports(name)
    stamps = [line["kafka_timestamp_ms"] for line in lines]
    assert stamps == sorted(stamps)
    for line in lines:
        assert LabelKind(line["label"]["kind"])
        assert line["kafka_timestamp_ms"] >= round(made_at(line) * 1000) - 1
    for incident, members in by_incident(name).items():
        onsets = {member["label"]["onset"] for member in members}
        assert len(onsets) == 1, incident
        assert time_of(onsets.pop()) == pytest.approx(min(made_at(m) for m in members), abs=1e-3)
    assert messages(name) == messages(name)


def test_replay_takes_the_record_timestamp_from_the_line_and_old_lines_have_none() -> None:
    new = messages("late_delivery")[0]
    old = orjson.dumps({"broadcast_id": "b", "category": "spam"})
    first, second = file_messages([new.value, old], PARTITIONS, "replay")
    assert first.timestamp_ms == round(new.delivered_at * 1000)
    assert second.timestamp_ms is None


@pytest.mark.parametrize(("factor", "low", "high"), [(0.1, 0.1, 0.2), (10.0, 5.0, 10.0)])
def test_platform_rates_are_the_scenarios_own_within_ten_times_the_reference(
    factor: float, low: float, high: float
) -> None:
    rates = platform_rates(factor, SEED)
    ratios = [rates[c] / REFERENCE_RATES[c] for c in Category]
    assert all(low - 1e-9 <= ratio <= high + 1e-9 for ratio in ratios)
    assert len({round(ratio, 6) for ratio in ratios}) > 1  # categories differ, as platforms do


def test_a_busy_platform_reports_ten_times_more_for_the_same_audience() -> None:
    def reports_per_viewer(name: str) -> float:
        background = [r for r in reports(name) if r["label"]["kind"] == "background"]
        audience = statistics.mean(float(r["viewer_count"]) for r in background)
        return len(background) / audience

    ratio = reports_per_viewer("busy_platform") / reports_per_viewer("quiet_platform")
    assert 30 < ratio < 300


def test_the_evening_rise_triples_the_rate_over_the_run() -> None:
    times = [
        made_at(r) - SCENARIO_START
        for r in reports("evening_rise")
        if r["label"]["kind"] == "background"
    ]
    first = sum(1 for t in times if t < 100)
    last = sum(1 for t in times if t >= 200)
    assert 1.6 < last / first < 2.5  # linear x1 to x3: thirds average 1.33 and 2.67


def test_large_broadcasts_report_at_their_own_rates_not_the_priors() -> None:
    viral: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for report in reports("large_broadcasts"):
        if report["broadcast_id"].startswith("large-") and report["label"]["kind"] == "viral":
            viral[report["broadcast_id"]].append(report)
    assert len(viral) == 4
    priors = sum(POLICY.category(c).base_rate_per_viewer_second for c in Category)
    for broadcast, members in viral.items():
        viewers = members[0]["viewer_count"]
        assert 150_000 <= viewers <= 400_000
        factor = len(members) / (viewers * priors * DURATION)
        assert 1.2 < factor < 5.0, broadcast


def test_own_mix_broadcasts_over_report_some_categories_steadily() -> None:
    """Each larger broadcast of ``own_mix`` draws some category at nearly twice its share
    of the platform's reports or more, as much in its first half as in its second: a mix
    of its own, not a climb."""
    viral: dict[str, list[dict[str, Any]]] = defaultdict(list)
    platform: Counter[str] = Counter()
    for report in reports("own_mix"):
        if report["broadcast_id"].startswith("mix-") and report["label"]["kind"] == "viral":
            viral[report["broadcast_id"]].append(report)
        elif report["label"]["kind"] == "background":
            platform[report["category"]] += 1
    assert len(viral) == 6
    larger = {b: members for b, members in viral.items() if len(members) >= 40}
    assert larger
    for broadcast, members in larger.items():
        counts = Counter(m["category"] for m in members)
        tilted = [
            c
            for c, n in counts.most_common()
            if n >= 8 and n / len(members) >= 1.8 * platform[c] / platform.total()
        ]
        assert tilted, broadcast
        middle = min(made_at(m) for m in members) + DURATION / 2
        first_half = sum(1 for m in members if m["category"] == tilted[0] and made_at(m) < middle)
        assert 0.25 < first_half / counts[tilted[0]] < 0.75, "steady, not a climb"


@functools.cache
def full_length(name: str) -> tuple[ScenarioMessage, ...]:
    """A scenario whose point takes longer than five minutes, at its own length on a light
    background."""
    return tuple(build_scenario(name, seed=SEED, background_rate=4.0, broadcasts=80))


def test_rare_category_ramps_climb_where_a_long_live_broadcast_seldom_reported() -> None:
    """Each ramp starts ten minutes or more into its broadcast, in a category drawn below
    its platform share per viewer until then, and ends well above that share; on a
    smaller steady broadcast, some over-reported category first comes minutes after the
    broadcast's first report (what a reference opened by the broadcast would misjudge)."""
    lines = [orjson.loads(m.value) for m in full_length("rare_category_ramps")]
    first: dict[str, float] = {}
    for r in lines:
        first[r["broadcast_id"]] = min(first.get(r["broadcast_id"], math.inf), made_at(r))
    ramps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in lines:
        if r["label"]["kind"] == "ramp":
            ramps[r["broadcast_id"]].append(r)
    assert len(ramps) == 4
    end = max(made_at(r) for r in lines)
    for broadcast, members in ramps.items():
        category = {m["category"] for m in members}.pop()
        onset = time_of(members[0]["label"]["onset"])
        assert onset - first[broadcast] >= 600.0, broadcast
        share = REFERENCE_RATES[Category(category)] * members[0]["viewer_count"]
        before = [
            r
            for r in lines
            if r["broadcast_id"] == broadcast and r["category"] == category and made_at(r) < onset
        ]
        assert len(before) / (onset - first[broadcast]) < 0.7 * share, broadcast
        held = [m for m in members if made_at(m) > end - 600.0]
        assert len(held) / 600.0 > 2.0 * share, broadcast
    steady = [b for b in first if b.startswith("rare-") and b not in ramps]
    assert len(steady) == 4
    late_firsts = []
    for broadcast in steady:
        own = [r for r in lines if r["broadcast_id"] == broadcast]
        counts = Counter(r["category"] for r in own)
        exposure = own[0]["viewer_count"] * (end - first[broadcast])
        for category, count in counts.items():
            if count > 1.5 * REFERENCE_RATES[Category(category)] * exposure:
                since = min(made_at(r) for r in own if r["category"] == category)
                late_firsts.append(since - first[broadcast])
    assert max(late_firsts) >= 120.0


def test_a_genuine_surge_on_a_large_broadcast_is_one_category_jumping_ten_times() -> None:
    surges = {k: v for k, v in by_incident("large_broadcasts").items() if k.startswith("large-")}
    assert sorted(surges) == ["large-surge-0", "large-surge-1"]
    for name, members in surges.items():
        broadcast = members[0]["broadcast_id"]
        category = members[0]["category"]
        assert {m["category"] for m in members} == {category}
        onset = min(made_at(m) for m in members)
        normal = [
            r
            for r in reports("large_broadcasts")
            if r["broadcast_id"] == broadcast
            and r["category"] == category
            and r["label"]["kind"] == "viral"
        ]
        held = [m for m in members if onset + 60 <= made_at(m) < onset + 120]
        normal_per_minute = len(normal) / (DURATION / 60)
        assert len(held) > 4 * normal_per_minute, name


def test_a_raid_multiplies_the_audience_a_hundred_times_within_a_minute() -> None:
    raids: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for report in reports("raids"):
        if report["label"]["kind"] == "raid":
            raids[report["broadcast_id"]].append((made_at(report), report["viewer_count"]))
    assert len(raids) == 3
    for seen in raids.values():
        peak = max(v for _, v in seen)
        assert min(v for _, v in seen) >= peak / 100 - 1
        climbing = [t for t, v in seen if peak / 99 < v < peak]
        assert climbing
        assert max(climbing) - min(climbing) <= 60
        raided = [t for t, v in seen if v == peak]
        assert min(raided) >= max(climbing)
        assert len(raided) > 5 * len(climbing)


def test_spread_surges_file_one_broadcast_under_several_categories() -> None:
    spread = by_incident("spread_surges")
    assert len(spread) == 5
    for members in spread.values():
        assert {m["label"]["kind"] for m in members} == {"spread_surge"}
        categories = {m["category"] for m in members}
        assert len(categories) >= 3
        per_category = defaultdict(set)
        for m in members:
            per_category[m["category"]].add(m["reporter_id"])
        reporters = {m["reporter_id"] for m in members}
        assert max(len(r) for r in per_category.values()) < len(reporters)


@pytest.mark.parametrize("name", ["busy_platform", "real_world"])
def test_a_surge_comes_on_a_broadcast_already_live_with_its_ordinary_reports(name: str) -> None:
    """Trouble mostly starts on a broadcast that has been live a while: its audience's
    ordinary reports come before the surge and go on beside it. Asked of the scenarios
    whose platforms report at several times the reference rates; even there most of the
    shrunk runs' small audiences draw none in the minutes they are live."""
    lines = reports(name)
    onsets: dict[str, float] = {}
    for r in lines:
        if r["label"]["kind"] in ("surge", "spread_surge"):
            onsets[r["broadcast_id"]] = min(onsets.get(r["broadcast_id"], math.inf), made_at(r))
    ordinary: dict[str, list[float]] = defaultdict(list)
    for r in lines:
        if r["broadcast_id"] in onsets and r["label"]["kind"] == "background":
            ordinary[r["broadcast_id"]].append(made_at(r))
    before = [b for b, onset in onsets.items() if any(t < onset for t in ordinary[b])]
    beside = [b for b, onset in onsets.items() if any(t > onset for t in ordinary[b])]
    assert len(onsets) >= 4
    assert before, "no surge broadcast was live before its surge"
    assert beside, "no surge broadcast drew ordinary reports beside its surge"


def test_anonymous_reporters_carry_no_reporter_object() -> None:
    lines = reports("anonymous_reporters")
    background = [r for r in lines if r["label"]["kind"] == "background"]
    missing = sum(1 for r in background if "reporter" not in r) / len(background)
    assert 0.4 < missing < 0.6
    incidents = by_incident("anonymous_reporters")
    assert all("reporter" not in m for m in incidents["surge-0"] + incidents["surge-1"])


def viewer_count_carried(name: str) -> dict[str, list[bool]]:
    """Per broadcast, whether each of its reports carries ``viewer_count``."""
    carried: dict[str, list[bool]] = defaultdict(list)
    for report in reports(name):
        carried[report["broadcast_id"]].append("viewer_count" in report)
    return carried


def test_missing_viewer_count_leaves_it_out_of_whole_broadcasts_or_of_some_reports() -> None:
    carried = viewer_count_carried("missing_viewer_count")
    never = {b for b, flags in carried.items() if not any(flags)}
    some = {b for b, flags in carried.items() if any(flags) and not all(flags)}
    for kind in ("large", "surge"):
        assert {f"unmeasured-{kind}-0", f"unmeasured-{kind}-2"} <= never
        assert {f"unmeasured-{kind}-1", f"unmeasured-{kind}-3"} <= some
    # A broadcast's habit shows once it has a few reports: a third never send it.
    background = [b for b, flags in carried.items() if b.startswith("bg-") and len(flags) >= 5]
    assert 0.15 < sum(1 for b in background if b in never) / len(background) < 0.5
    assert any(b in some for b in background)


def test_large_broadcasts_without_a_viewer_count_report_at_their_real_audiences_rate() -> None:
    lines = reports("missing_viewer_count")
    viral: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for report in lines:
        if report["label"]["kind"] == "viral":
            viral[report["broadcast_id"]].append(report)
    assert sorted(viral) == [f"unmeasured-large-{index}" for index in range(4)]
    smallest = 100_000 * 0.5 * sum(REFERENCE_RATES.values()) * DURATION
    assert all(len(members) > 0.5 * smallest for members in viral.values())
    for name in ("unmeasured-large-1", "unmeasured-large-3"):
        assert {m["viewer_count"] for m in viral[name] if "viewer_count" in m} <= set(
            range(100_000, 400_001)
        )
    surges = {k for k in by_incident("missing_viewer_count") if k.startswith("unmeasured-")}
    assert surges == {"unmeasured-large-surge-0", "unmeasured-large-surge-1"} | {
        f"unmeasured-surge-{index}" for index in range(4)
    }


def test_skewed_clocks_run_ahead_and_behind_by_seconds_to_minutes() -> None:
    skews = [time_of(r["reported_at"]) - made_at(r) for r in reports("skewed_clocks")]
    skewed = [s for s in skews if abs(s) > 1e-3]
    assert 0.2 < len(skewed) / len(skews) < 0.4
    assert min(skewed) < -60
    assert max(skewed) > 60
    assert min(abs(s) for s in skewed) < 10
    incidents = by_incident("skewed_clocks")
    for name, skew in (("surge-0", 150.0), ("surge-1", 150.0), ("surge-2", -60.0)):
        first = min(incidents[name], key=made_at)
        assert time_of(first["reported_at"]) - made_at(first) == pytest.approx(skew, abs=1e-3)


def test_late_reports_reach_kafka_ten_to_forty_five_seconds_after_they_were_made() -> None:
    lines = reports("late_delivery")
    lags = [r["kafka_timestamp_ms"] / 1000 - made_at(r) for r in lines]
    late = [lag for lag in lags if lag > 1]
    assert 0.15 < len(late) / len(lags) < 0.5
    assert min(late) >= 10
    assert max(late) <= 48
    for members in by_incident("late_delivery").values():
        assert all(10 <= m["kafka_timestamp_ms"] / 1000 - made_at(m) <= 48 for m in members)
    made = [made_at(r) for r in lines]
    assert made != sorted(made)  # Kafka order is not the order the reports were made in


def test_retries_resend_the_same_report_id_with_the_same_content() -> None:
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for report in reports("retries"):
        copies[report["report_id"]].append(report)
    retried = [c for c in copies.values() if len(c) > 1]
    assert len(retried) > 0.1 * len(copies)
    for group in retried:
        bodies = {
            orjson.dumps({k: v for k, v in r.items() if k != "kafka_timestamp_ms"}) for r in group
        }
        assert len(bodies) == 1
    storm = [r for r in reports("retries") if r["broadcast_id"] == "retry-0"]
    assert len({r["reporter_id"] for r in storm}) == 4
    assert len(storm) >= 20


def test_a_trusting_platform_scores_its_ordinary_accounts_above_neutral_but_not_credible() -> None:
    ordinary = [
        r["reporter"]["trust"]
        for r in reports("trusting_platform")
        if r["label"]["kind"] in ("background", "viral") and "reporter" in r
    ]
    assert min(ordinary) >= 0.4
    assert max(ordinary) < 0.8
    assert sum(trust > 0.5 for trust in ordinary) > 0.6 * len(ordinary)
    storm = [r for r in reports("trusting_platform") if r["broadcast_id"] == "retry-0"]
    assert len({r["reporter_id"] for r in storm}) == 4


def test_campaigns_are_fresh_accounts_some_with_a_few_real_viewers() -> None:
    campaigns = by_incident("campaigns")
    campaign_names = sorted(name for name in campaigns if name.startswith("campaign-"))
    assert len(campaign_names) == 6
    for index, name in enumerate(campaign_names):
        members = campaigns[name]
        assert {m["label"]["kind"] for m in members} == {"coordinated"}
        viewing = [m for m in members if m["reporter"]["was_viewing"]]
        assert len(viewing) == (3 if index % 2 else 0)
        assert len(members) - len(viewing) >= 25


def test_single_child_safety_reports_stay_credible_whatever_the_world_does() -> None:
    singles = {
        name: members
        for name, members in by_incident("real_world").items()
        if members[0]["label"]["kind"] == "child_safety"
    }
    assert len(singles) == 3
    for members in singles.values():
        [report] = members
        reporter = report["reporter"]
        assert reporter["trusted_flagger"] or (
            reporter["trust"] >= 0.8 and reporter["account_age_days"] >= 30
        )


def test_the_real_world_mix_holds_every_confounder() -> None:
    lines = reports("real_world")
    kinds = {r["label"]["kind"] for r in lines}
    assert kinds == {
        "background",
        "viral",
        "raid",
        "surge",
        "spread_surge",
        "child_safety",
        "coordinated",
    }
    assert any("reporter" not in r for r in lines)
    assert any("made_at" in r["label"] for r in lines)
    assert any(r["kafka_timestamp_ms"] / 1000 - made_at(r) > 10 for r in lines)
    assert len({r["report_id"] for r in lines}) < len(lines)
    cs = by_incident("real_world")["cs-on-spread-0"]
    assert cs[0]["broadcast_id"] == "spread-0"


def test_produce_writes_a_confounder_log_that_replay_reads(tmp_path: Path) -> None:
    out = tmp_path / "late.jsonl"
    assert main(["produce", "--scenario", "late_delivery", "--seed", "2", "--out", str(out)]) == 0
    lines = out.read_bytes().splitlines()
    assert lines == [m.value for m in build_scenario("late_delivery", seed=2)]
    [message, *_] = file_messages(lines, PARTITIONS, "replay")
    assert message.timestamp_ms == orjson.loads(lines[0])["kafka_timestamp_ms"]


# Detection on them: the targets of issue 13.


@functools.cache
def replayed(name: str, *, whole: bool = False) -> ReplayResult:
    """The scenario shrunk for tests, or ``whole``: at its own length (:func:`full_length`)."""
    configure_logging("error")
    lines = [m.value for m in (full_length(name) if whole else messages(name))]
    return replay_log(POLICY, lines, partitions=PARTITIONS, max_message_bytes=65536)


def card(name: str) -> ScoreCard:
    return replayed(name).score()


NOT_YET: dict[tuple[str, str], str] = {
    ("own_mix", "surge_delay"): (
        "the test's run holds three surges, the median of which is just over 10 s from the "
        "onset; full-length runs meet the target (docs/detection.md)"
    ),
    ("trusting_platform", "surge_delay"): (
        "the test's run holds five surges on broadcasts with little history, the median of "
        "which is over 10 s from the onset with weights counted either way; full-length "
        "runs meet the target (docs/detection.md)"
    ),
    ("large_broadcasts", "surge_delay"): (
        "five minutes in, a large broadcast's history is two minutes old when its surge "
        "starts: the median is over 10 s from the onset; full-length runs meet the target "
        "(docs/detection.md)"
    ),
}


RARE_RAMPS_MISSED = (
    "a climb in a category the broadcast seldom reports is slow and in few reports: on a "
    "mid-size broadcast in the rarest categories it has not reached the mark when the "
    "reference, ten minutes behind, starts taking it in (docs/unseen-traffic.md)"
)
STEADY_MIX_PAGED = (
    "a mid-size broadcast over-reporting a category holds a reference of a few dozen "
    "reports, and one low by chance still pages a ramp now and then over forty minutes "
    "(docs/unseen-traffic.md)"
)


def target(name: str, figure: str) -> Any:
    reason = NOT_YET.get((name, figure))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(name, id=name, marks=marks)


SHRUNK = [n for n in CONFOUNDERS if n != "rare_category_ramps"]
"""The scenarios replayed at five minutes: ``rare_category_ramps``' climb takes five minutes
to rise and starts a quarter of an hour in, so it is replayed at full length below."""


@pytest.mark.parametrize("name", [target(n, "recall") for n in SHRUNK])
def test_every_abuse_incident_gets_a_paging_trigger(name: str) -> None:
    scored = card(name)
    assert scored.abuse_incidents > 0
    assert scored.missed == []


@pytest.mark.parametrize("name", [target(n, "false_pages") for n in SHRUNK])
def test_nothing_but_abuse_pages(name: str) -> None:
    assert card(name).false_pages_by_kind == {}


@pytest.mark.parametrize("name", [target(n, "paged_once") for n in SHRUNK])
def test_each_abuse_incident_pages_exactly_once(name: str) -> None:
    scored = card(name)
    assert scored.detected > 0
    assert scored.incidents_paged_once == scored.detected


SURGE_SCENARIOS = [n for n in SHRUNK if n not in ("late_delivery",)]


@pytest.mark.parametrize("name", [target(n, "surge_delay") for n in SURGE_SCENARIOS])
def test_surges_are_paged_within_ten_seconds_of_their_onset_at_the_median(name: str) -> None:
    median = card(name).median_delay(LabelKind.SURGE, LabelKind.SPREAD_SURGE)
    assert median is not None
    assert median <= 10.0


@pytest.mark.parametrize(
    "name",
    [
        target(n, "child_safety_delay")
        for n in ("quiet_platform", "busy_platform", "evening_rise", "skewed_clocks", "real_world")
    ],
)
def test_a_single_credible_child_safety_report_pages_within_two_seconds(name: str) -> None:
    paged = card(name).delays_and_lags(LabelKind.CHILD_SAFETY)
    assert len(paged) == sum(
        1 for m in by_incident(name).values() if m[0]["label"]["kind"] == "child_safety"
    )
    assert all(delay <= lag + 2.0 for delay, lag in paged)  # a late report cannot be helped


@pytest.mark.parametrize("name", [target(n, "late_delay") for n in ("late_delivery", "real_world")])
def test_a_late_surge_is_paged_within_its_delivery_lag_and_ten_seconds_at_the_median(
    name: str,
) -> None:
    """The issue's targets are medians ("median delay from onset <= 10 s for surges ...,
    late surges: delay <= the delivery lag + 10 s"): a late surge may take, beyond its
    lag, what an on-time surge takes. Every single one within lag + 10 s is out of reach
    of any rule that waits for five reporters (the fixed 5-in-5-minutes rule misses it
    too): the surges' own pace puts the fifth reporter past 10 s now and then."""
    late = card(name).late(LabelKind.SURGE)
    assert late
    assert statistics.median(delay - lag for delay, lag in late) <= 10.0
    assert all(delay <= lag + 60.0 for delay, lag in late), "none waits for the window to fill"


def test_broadcasts_growing_for_an_hour_page_only_for_their_surges() -> None:
    """``growing_broadcasts`` at its full hour (the shrunk run ends before a broadcast's own
    reference moves): a whole broadcast getting louder is no ramp, an incident on it stays
    one page while it goes on growing (the level learns from the other categories), and it
    resolves once the surge has left the window and the quiet period has passed. Kept open
    by the ramp's memory of the surge and by a level behind the broadcast's growth (and a
    learner that lost the loudest broadcasts while their incidents were open), every such
    incident stayed open to the end of the hour."""
    result = replayed("growing_broadcasts", whole=True)
    scored = result.score()
    assert scored.abuse_incidents == 2
    assert scored.missed == []
    assert scored.false_pages_by_kind == {}
    assert scored.incidents_paged_once == scored.detected
    surge_ends: defaultdict[str, float] = defaultdict(float)
    for label in result.labels:
        if label.kind is LabelKind.SURGE:
            surge_ends[label.broadcast_id] = max(surge_ends[label.broadcast_id], label.at)
    resolved = {
        e.labels.broadcast_id: e.detected_at.timestamp()
        for e in result.escalations
        if e.event_action is EventAction.RESOLVE
    }
    window, lifecycle = POLICY.window, POLICY.lifecycle
    longest = window.length_seconds + lifecycle.resolve_after_quiet_seconds
    longest += window.allowed_lateness_seconds + 2 * window.bucket_seconds
    assert set(resolved) == set(surge_ends)
    late = {b: resolved[b] - end for b, end in surge_ends.items() if resolved[b] - end > longest}
    assert late == {}, "seconds from the surge's last report to the resolve"


@pytest.mark.xfail(strict=True, reason=RARE_RAMPS_MISSED)
def test_a_climb_in_a_category_a_long_live_broadcast_seldom_reports_pages_once() -> None:
    scored = replayed("rare_category_ramps", whole=True).score()
    assert scored.abuse_incidents == 4
    assert scored.missed == []
    assert scored.incidents_paged_once == scored.detected


@pytest.mark.xfail(strict=True, reason=STEADY_MIX_PAGED)
def test_broadcasts_with_a_mix_of_their_own_never_page_however_long_they_stay_live() -> None:
    assert replayed("rare_category_ramps", whole=True).score().false_pages_by_kind == {}


@pytest.mark.parametrize("name", [target(n, "campaigns") for n in ("campaigns", "real_world")])
def test_campaigns_never_page_with_or_without_real_viewers(name: str) -> None:
    scored = card(name)
    assert scored.coordinated_incidents > 0
    assert scored.campaigns_paged == 0
