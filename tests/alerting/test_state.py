"""Tests for alerting/state.py: pseudonymous reporter keys and the per-broadcast state bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.ramp import OwnReference
from alerting.state import BroadcastState, reporter_key
from models.escalation import EventAction
from models.report import Category, MediaType, Platform, ReportEvent
from tests.alerting.helpers import T0, burst, resolve_wait


def make_report(
    number: int,
    *,
    reporter_id: str | None = None,
    category: str = "harassment",
    at: float = T0,
    **fields: Any,
) -> ReportEvent:
    payload: dict[str, Any] = {
        "schema_version": 1,
        "report_id": f"report-{number}",
        "broadcast_id": "b-1",
        "reporter_id": reporter_id or f"person-{number}",
        "category": category,
        "reported_at": datetime.fromtimestamp(at, tz=UTC).isoformat(),
        **fields,
    }
    return ReportEvent.model_validate(payload)


# --- reporter_key ------------------------------------------------------------------------


def test_reporter_key_is_deterministic_and_distinct_per_reporter() -> None:
    assert reporter_key("alice") == reporter_key("alice")
    assert reporter_key("alice") != reporter_key("bob")


def test_reporter_key_is_a_short_hash_not_the_id() -> None:
    key = reporter_key("alice@example.com")
    assert len(key) == 16
    int(key, 16)  # hexadecimal
    assert "alice" not in key


# --- remember_context --------------------------------------------------------------------


def test_remember_context_keeps_newest_known_fields() -> None:
    state = BroadcastState("b-1")
    state.remember_context(
        make_report(
            1,
            broadcaster_id="owner",
            platform="periscope",
            region="FR",
            viewer_count=120,
            media_type="video",
        )
    )
    state.remember_context(make_report(2, viewer_count=None))
    assert state.broadcaster_id == "owner"
    assert state.platform is Platform.PERISCOPE
    assert state.region == "FR"
    assert state.viewers == 120
    assert state.media_type is MediaType.LIVE_VIDEO  # the default of the newest report


def test_remember_context_newer_values_replace_older_ones() -> None:
    state = BroadcastState("b-1")
    state.remember_context(make_report(1, viewer_count=120, platform="periscope"))
    state.remember_context(make_report(2, viewer_count=40, platform="twitter"))
    assert state.viewers == 40
    assert state.platform is Platform.TWITTER


def test_a_count_of_zero_viewers_never_replaces_a_known_audience() -> None:
    """Someone watching filed the report: zero is a client without a count (a broadcast
    ending, a replay), and taken as the audience it made the window's reporters of a
    30,000-viewer broadcast improbable."""
    state = BroadcastState("b-1")
    state.remember_context(make_report(1, viewer_count=30_000))
    state.remember_context(make_report(2, viewer_count=0))
    assert state.viewers == 30_000
    state.remember_context(make_report(3, viewer_count=25_000))
    assert state.viewers == 25_000
    unknown = BroadcastState("b-2")
    unknown.remember_context(make_report(4, viewer_count=0))
    assert unknown.viewers == 0, "with nothing better known, the count given (floored)"
    unknown.remember_context(make_report(5, viewer_count=300))
    assert unknown.viewers == 300


def test_remember_context_takes_the_audience_only_from_the_newest_report() -> None:
    """A late report carries the audience of when it was made: during a raid, a hundred
    times smaller than now."""
    state = BroadcastState("b-1")
    state.remember_context(make_report(1, viewer_count=80_000))
    state.remember_context(make_report(2, viewer_count=800), newest=False)
    assert state.viewers == 80_000
    unknown = BroadcastState("b-2")
    unknown.remember_context(make_report(3, viewer_count=800), newest=False)
    assert unknown.viewers == 800, "better an old audience than none"


# --- bytes round trip --------------------------------------------------------------------


def busy_state(engine: DetectionEngine) -> BroadcastState:
    state = BroadcastState("b-1")
    reporters = [f"secret-reporter-{index}" for index in range(8)]
    for number, reporter in enumerate(reporters):
        engine.observe(
            state,
            make_report(
                number,
                reporter_id=reporter,
                at=T0 + number,
                viewer_count=100,
                platform="periscope",
                broadcaster_id="owner",
                region="DE",
                reporter={"trusted_flagger": number == 0},
            ),
        )
    engine.observe(
        state,
        make_report(99, category="hateful_conduct", at=T0 + 20, viewer_count=100),
        record_time=T0 + 20.5,
    )
    assert state.incidents, "the burst should have opened an incident"
    return state


def test_state_bytes_round_trip_mid_incident(engine: DetectionEngine) -> None:
    state = busy_state(engine)
    restored = BroadcastState.from_bytes(state.to_bytes())
    assert restored == state
    assert restored.to_bytes() == state.to_bytes()
    assert restored.platform is Platform.PERISCOPE
    assert set(restored.windows) == {Category.HARASSMENT, Category.HATEFUL_CONDUCT}
    assert restored.record_clock == T0 + 20.5


def test_a_state_stored_without_a_record_clock_loads_without_one(engine: DetectionEngine) -> None:
    plain = orjson.loads(busy_state(engine).to_bytes())
    del plain["rc"]

    assert BroadcastState.from_bytes(orjson.dumps(plain)).record_clock is None


def test_the_rate_a_broadcast_last_taught_survives_the_round_trip_and_may_be_missing(
    engine: DetectionEngine,
) -> None:
    state = busy_state(engine)
    state.taught_rate = 3.5e-6
    assert BroadcastState.from_bytes(state.to_bytes()).taught_rate == 3.5e-6
    plain = orjson.loads(state.to_bytes())
    del plain["tr"]
    assert BroadcastState.from_bytes(orjson.dumps(plain)).taught_rate is None


def test_state_bytes_never_contain_raw_reporter_ids(engine: DetectionEngine) -> None:
    data = busy_state(engine).to_bytes()
    assert b"secret-reporter" not in data
    assert reporter_key("secret-reporter-3").encode() in data


def test_state_bytes_are_compact_json(engine: DetectionEngine) -> None:
    data = busy_state(engine).to_bytes()
    plain = orjson.loads(data)
    assert orjson.dumps(plain) == data, "exactly what orjson writes for the same object"
    assert plain["v"] == 5
    assert plain["id"] == "b-1"
    assert set(plain["w"]) == {"harassment", "hateful_conduct"}
    assert plain["a"]["r"], "the broadcast-wide window holds every category's reporters"


def test_state_fresh_state_round_trips() -> None:
    state = BroadcastState("b-empty")
    assert orjson.loads(state.to_bytes())["w"] == {}
    assert BroadcastState.from_bytes(state.to_bytes()) == state


def test_state_from_bytes_refuses_unknown_format() -> None:
    plain = orjson.loads(BroadcastState("b").to_bytes())
    plain["v"] = 6
    with pytest.raises(ValueError, match="format"):
        BroadcastState.from_bytes(orjson.dumps(plain))


def test_state_is_idle_only_without_incidents_and_counts(engine: DetectionEngine) -> None:
    assert BroadcastState("b").is_idle
    state = BroadcastState("b-1")
    engine.observe(state, make_report(1))
    assert not state.is_idle


def test_a_category_whose_window_empties_takes_its_ramp_with_it(engine: DetectionEngine) -> None:
    """Spam once, harassment every twenty seconds for ten minutes: the spam window empties
    and its ramp goes with it; harassment keeps both. A long-lived broadcast keeps state
    for what it reports now, not for every category it ever reported."""
    state = BroadcastState("b-1")
    engine.observe(state, make_report(0, category="spam", viewer_count=50_000))
    engine.observe(state, make_report(1, at=T0 + 1.0, viewer_count=50_000))
    assert set(state.ramps) == {Category.SPAM, Category.HARASSMENT}
    for number in range(2, 32):
        at = T0 + 20.0 * number
        engine.observe(state, make_report(number, at=at, viewer_count=50_000))
        engine.tick(state, at)
    assert set(state.windows) == {Category.HARASSMENT}
    assert set(state.ramps) == {Category.HARASSMENT}


# --- states written by earlier versions (format 1) -------------------------------------

FORMAT_1_STATE = Path(__file__).parent / "data" / "state_format_1.json"
"""A format-1 state as the worker before the decision-core speed-up wrote it: two abuse
incidents, a coordination incident, three windows, ramps and an input offset."""

FORMAT_1_MAIN_STATE = Path(__file__).parent / "data" / "state_format_1_main.json"
"""The format-1 state the last version writing format 1 (main at 8a9f918) stored after the
first :data:`TRAFFIC_CUT` reports of :func:`traffic`, written by that version's
``engine.observe`` and ``BroadcastState.to_bytes`` on the default policy."""

TRAFFIC_CUT = 90


def traffic() -> list[ReportEvent]:
    """Ten minutes of one broadcast's reports that exercise every part of a window's marks.

    Returning reporters raise their weight, turn credible and stop being suspect; some
    reports arrive out of order; buckets expire; a harassment burst opens an abuse
    incident and a spam burst from new accounts a coordination one.
    """
    reports = []
    for number in range(150):
        at = T0 + number * 4.0 - (30.0 if number % 11 == 5 else 0.0)
        reporter: dict[str, Any] = {
            "trust": 0.5 + (number % 5) * 0.1,
            "account_age_days": 400,
            "was_viewing": number % 13 != 0,
        }
        if number % 7 == 3:
            category, reporter_id = "spam", f"new-{number}"
            reporter = {"account_age_days": 1, "trust": 0.5}
        elif number == 60:
            category, reporter_id = "child_safety", "flagger"
            reporter = {"trusted_flagger": True}
        else:
            category, reporter_id = "harassment", f"person-{number % 17}"
        reports.append(
            make_report(
                number,
                reporter_id=reporter_id,
                category=category,
                at=at,
                viewer_count=100,
                platform="periscope",
                broadcaster_id="owner",
                reporter=reporter,
            )
        )
    return reports


def test_state_written_in_format_1_loads_and_routes_its_incidents_by_team(
    engine: DetectionEngine,
) -> None:
    stored = orjson.loads(FORMAT_1_STATE.read_bytes())
    state = BroadcastState.from_bytes(FORMAT_1_STATE.read_bytes())
    assert state.unrouted
    assert state.input_offset == 41
    assert state.watermark is not None

    engine.tick(state, state.watermark)

    assert not state.unrouted
    assert set(state.incidents) == {"hate-harassment", "child-safety"}
    assert set(state.coordination) == {"integrity-coordination"}
    assert {i.dedup_key for i in state.incidents.values()} == {
        i["dedup_key"] for i in stored["i"].values()
    }, "an incident keeps its key across the upgrade"
    again = BroadcastState.from_bytes(state.to_bytes())
    assert orjson.loads(state.to_bytes())["v"] == 5
    assert again == state


def test_state_written_by_the_previous_version_resolves_and_empties_on_schedule(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState.from_bytes(FORMAT_1_STATE.read_bytes())
    assert state.watermark is not None
    quiet = engine.tick(state, state.watermark + resolve_wait(policy) + 60)
    assert sorted(e.labels.category.value for e in quiet.escalations) == [
        "child_safety",
        "harassment",
        "spam",
    ]
    assert {e.event_action for e in quiet.escalations} == {EventAction.RESOLVE}
    assert state.windows == {}
    assert quiet.evictable


def traffic_until_the_cut(engine: DetectionEngine) -> tuple[list[ReportEvent], BroadcastState]:
    """All of :func:`traffic`, and the state its first :data:`TRAFFIC_CUT` reports build."""
    reports = traffic()
    state = BroadcastState("b-1")
    for report in reports[:TRAFFIC_CUT]:
        engine.observe(state, report)
    return reports, state


def test_state_written_in_format_1_by_main_restores_the_windows_it_had(
    engine: DetectionEngine, policy: Policy
) -> None:
    reports, live = traffic_until_the_cut(engine)
    restored = BroadcastState.from_bytes(FORMAT_1_MAIN_STATE.read_bytes())
    for category, ramp in live.ramps.items():
        stored = restored.ramps[category]
        assert (stored.bucket, stored.pending_milli) == (ramp.bucket, ramp.pending_milli)
        assert stored.statistic == pytest.approx(ramp.statistic, rel=0.01)
        assert stored.reference == OwnReference(), "format 1 had none: it starts afresh"
    assert set(restored.windows) == set(live.windows)
    for category, window in live.windows.items():
        again = restored.windows[category]
        assert [(key, mark[:5]) for key, mark in again.reporters.items()] == [
            (key, mark[:5]) for key, mark in window.reporters.items()
        ], "the same reporters in the same order; format 1 numbers them afresh"
        assert (again.buckets, again.samples, again.weight_milli) == (
            window.buckets,
            window.samples,
            window.weight_milli,
        )
    for report in reports[TRAFFIC_CUT:]:
        engine.observe(restored, report)
    assert restored.watermark is not None
    quiet = engine.tick(restored, restored.watermark + resolve_wait(policy) + 60)
    assert {e.event_action for e in quiet.escalations} == {EventAction.RESOLVE}
    assert not restored.incidents
    assert not restored.coordination


def test_state_stored_mid_traffic_decides_on_as_if_it_had_never_been_stored(
    engine: DetectionEngine, policy: Policy
) -> None:
    reports, live = traffic_until_the_cut(engine)
    restored = BroadcastState.from_bytes(live.to_bytes())
    assert restored == live

    def decide_on(state: BroadcastState) -> list[str]:
        decided = []
        for report in reports[TRAFFIC_CUT:]:
            decided += engine.observe(state, report).escalations
        assert state.watermark is not None
        decided += engine.tick(state, state.watermark + resolve_wait(policy) + 60).escalations
        return [escalation.model_dump_json() for escalation in decided]

    escalations = decide_on(live)
    assert decide_on(restored) == escalations
    assert any('"event_action":"resolve"' in e for e in escalations)


# --- the broadcast's window, shared while it holds one category -------------------------


def harassment_only(engine: DetectionEngine) -> BroadcastState:
    state = BroadcastState("b-1")
    for report in burst(3):
        engine.observe(state, report)
    return state


def test_a_broadcast_reported_under_one_category_keeps_one_window(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    assert state.shared is Category.HARASSMENT
    assert state.combined is state.windows[Category.HARASSMENT]

    restored = BroadcastState.from_bytes(state.to_bytes())

    assert orjson.loads(state.to_bytes())["a"] == "harassment"
    assert restored.combined is restored.windows[Category.HARASSMENT]
    assert restored == state


def test_a_second_category_gives_the_broadcast_a_window_of_its_own(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    engine.observe(state, make_report(number=9, reporter_id="other", category="hateful_conduct"))

    harassment = state.windows[Category.HARASSMENT]
    assert state.shared is None
    assert state.combined is not harassment
    assert state.combined.distinct_reporters == 4
    assert harassment.distinct_reporters == 3
    assert BroadcastState.from_bytes(state.to_bytes()) == state


def test_a_reporter_new_to_its_category_and_the_broadcast_is_one_mark_in_memory(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    engine.observe(state, make_report(number=9, reporter_id="other", category="hateful_conduct"))

    key = reporter_key("other")
    assert state.combined.reporters[key] is state.windows[Category.HATEFUL_CONDUCT].reporters[key]


def test_a_reporter_whose_marks_differ_keeps_its_own_in_the_broadcast_window(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    engine.observe(state, make_report(number=8, reporter_id="other", category="hateful_conduct"))
    engine.observe(state, make_report(number=9, reporter_id="x", at=T0 + 20))
    engine.observe(
        state, make_report(number=10, reporter_id="x", category="hateful_conduct", at=T0 + 10)
    )

    key = reporter_key("x")
    broadcast_mark = state.combined.reporters[key]
    assert broadcast_mark is state.windows[Category.HARASSMENT].reporters[key]
    assert state.windows[Category.HATEFUL_CONDUCT].reporters[key][0] == T0 + 10
    assert broadcast_mark[0] == T0 + 20


def test_a_restored_broadcast_numbers_its_reports_after_every_stored_one(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    engine.observe(state, make_report(number=9, reporter_id="other", category="hateful_conduct"))
    restored = BroadcastState.from_bytes(state.to_bytes())
    windows = [restored.combined, *restored.windows.values()]
    stored = max(mark[5] for window in windows for mark in window.reporters.values())

    engine.observe(restored, make_report(number=10, reporter_id="new", category="hateful_conduct"))

    key = reporter_key("new")
    assert restored.combined.reporters[key][5] > stored
    assert list(restored.combined.reporters)[-1] == key
    assert (
        restored.combined.reporters[key]
        is restored.windows[Category.HATEFUL_CONDUCT].reporters[key]
    )


def test_a_restored_broadcast_numbers_on_exactly_where_the_live_one_would(
    engine: DetectionEngine,
) -> None:
    state = harassment_only(engine)
    for number in (9, 10):  # counted, numbered, and no window's mark moves
        engine.observe(state, make_report(number=number, reporter_id="viewer-2"))
    restored = BroadcastState.from_bytes(state.to_bytes())
    assert restored.next_arrival == state.next_arrival == 5

    plain = orjson.loads(state.to_bytes())
    del plain["n"]  # stored before the broadcast numbered its reports: its windows' highest
    assert BroadcastState.from_plain(plain).next_arrival == 3


def test_a_low_harm_category_stays_out_of_the_broadcast_window(engine: DetectionEngine) -> None:
    state = harassment_only(engine)
    engine.observe(state, make_report(number=9, reporter_id="other", category="spam"))

    assert state.shared is Category.HARASSMENT
    assert state.combined is state.windows[Category.HARASSMENT]
    assert state.combined.distinct_reporters == 3
    assert state.windows[Category.SPAM].distinct_reporters == 1


def test_an_emptied_broadcast_window_is_shared_again_with_the_next_category(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    engine.observe(state, make_report(number=1, reporter_id="a", category="spam"))
    engine.observe(state, make_report(number=2, reporter_id="b", category="harassment"))
    later = T0 + policy.window.length_seconds + policy.window.allowed_lateness_seconds + 1
    engine.tick(state, later + 400)

    engine.observe(state, make_report(number=3, reporter_id="c", at=later + 400))

    assert state.shared is Category.HARASSMENT
    assert state.combined is state.windows[Category.HARASSMENT]
    assert state.combined.distinct_reporters == 1


# --- format 3: the previous format, without unknown reporters -----------------------------


def as_format_3(state: BroadcastState) -> bytes:
    """``state`` as format 3 stored it: the same, but no reporter mark saying whether its
    reports carried a ``reporter`` object."""
    plain = orjson.loads(state.to_bytes())
    plain["v"] = 3
    windows = [*plain["w"].values(), *([plain["a"]] if isinstance(plain["a"], dict) else [])]
    for window in windows:
        window["r"] = {key: mark[:6] for key, mark in window["r"].items()}
    return orjson.dumps(plain)


def test_state_written_in_format_3_loads_the_same_with_no_reporter_counted_unknown(
    engine: DetectionEngine,
) -> None:
    reports = [
        make_report(number, category=category, at=T0 + number)
        for number, category in enumerate(["harassment", "hateful_conduct"] * 4)
    ]
    live = BroadcastState("b-1")
    for report in reports:
        engine.observe(live, report)
    assert live.combined.unknown_reporters == 8, "none of these reports carried a reporter"

    restored = BroadcastState.from_bytes(as_format_3(live))

    assert restored.combined.unknown_reporters == 0
    assert all(window.unknown_reporters == 0 for window in restored.windows.values())
    for category, window in live.windows.items():
        again = restored.windows[category]
        assert [(key, mark[:6]) for key, mark in again.reporters.items()] == [
            (key, mark[:6]) for key, mark in window.reporters.items()
        ]
        assert (again.buckets, again.samples, again.weight_milli) == (
            window.buckets,
            window.samples,
            window.weight_milli,
        )
    assert restored.history == live.history
    assert orjson.loads(restored.to_bytes())["v"] == 5
