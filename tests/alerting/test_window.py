"""Tests for alerting/window.py: bucket arithmetic, distinct reporters, expiry, the cap."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.reporter_mark import WEIGHT_UNIT, ReporterStanding
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.escalation import MAX_SAMPLE_REPORT_IDS

SHAPE = WindowShape(
    length_seconds=300, bucket_seconds=10, allowed_lateness_seconds=60, max_reporters=10_000
)


def at(hour: int, minute: int, second: int) -> float:
    return datetime(2026, 11, 26, hour, minute, second, tzinfo=UTC).timestamp()


def add(
    window: CategoryWindow,
    event_time: float,
    reporter: str,
    *,
    credible: bool = False,
    weight_milli: int = WEIGHT_UNIT,
    suspect: bool = False,
    unknown: bool = False,
    report_id: str | None = None,
    shape: WindowShape = SHAPE,
) -> int:
    return window.add(
        shape,
        shape.bucket_of(event_time),
        event_time,
        reporter,
        ReporterStanding(credible, weight_milli, suspect, unknown),
        report_id if report_id is not None else f"{reporter}@{event_time}",
    )


# --- WindowShape ------------------------------------------------------------------------


def test_shape_of_300_seconds_in_10_second_buckets_keeps_30_buckets() -> None:
    assert SHAPE.bucket_count == 30


@pytest.mark.parametrize(
    ("length", "bucket", "count"), [(305, 10, 31), (10, 10, 1), (60, 7, 9), (1, 0.25, 4)]
)
def test_shape_bucket_count_rounds_up_partial_buckets(
    length: float, bucket: float, count: int
) -> None:
    shape = WindowShape(length, bucket, 0, 10)
    assert shape.bucket_count == count


def test_shape_report_at_12_00_07_lands_in_the_12_00_00_bucket() -> None:
    assert SHAPE.bucket_of(at(12, 0, 7)) * 10 == at(12, 0, 0)


def test_shape_window_at_12_05_03_runs_from_12_00_10_to_12_05_10() -> None:
    watermark = at(12, 5, 3)
    assert SHAPE.bucket_of(watermark) * 10 == at(12, 5, 0)
    assert SHAPE.first_bucket(watermark) * 10 == at(12, 0, 10)
    # the window end is the end of the current bucket: 30 buckets of 10 s
    assert (SHAPE.bucket_of(watermark) + 1) * 10 == at(12, 5, 10)


def test_shape_12_00_00_bucket_has_left_the_window_at_12_05_03() -> None:
    watermark = at(12, 5, 3)
    assert SHAPE.bucket_of(at(12, 0, 7)) < SHAPE.first_bucket(watermark)
    assert SHAPE.bucket_of(at(12, 0, 10)) == SHAPE.first_bucket(watermark)


@pytest.mark.parametrize(
    ("event_time", "bucket"), [(0.0, 0), (9.999, 0), (10.0, 1), (-0.001, -1), (-10.0, -1)]
)
def test_shape_bucket_i_holds_the_half_open_interval_from_i_times_width(
    event_time: float, bucket: int
) -> None:
    assert SHAPE.bucket_of(event_time) == bucket


# --- CategoryWindow: counting ------------------------------------------------------------


def test_window_counts_one_reporter_clicking_twenty_times_once() -> None:
    window = CategoryWindow()
    for second in range(20):
        add(window, 1000.0 + second, "same-reporter")
    assert window.reports == 20
    assert window.distinct_reporters == 1


def test_window_counts_distinct_reporters() -> None:
    window = CategoryWindow()
    for index in range(7):
        add(window, 1000.0 + index, f"reporter-{index}")
    add(window, 1010.0, "reporter-3")
    assert window.reports == 8
    assert window.distinct_reporters == 7


def test_window_weight_between_counts_each_reporter_in_their_newest_bucket() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "early", weight_milli=1500)
    add(window, 1012.0, "moves", weight_milli=2000)
    add(window, 1025.0, "late", weight_milli=700)
    add(window, 1031.0, "moves", weight_milli=2000)
    assert window.weight_between(100, 103) == window.weight_milli == 4200
    assert window.weight_between(101, 103) == 2700
    assert window.weight_between(100, 102) == 2200
    assert window.weight_between(101, 101) == 0
    assert window.weight_between(103, 103) == 2000
    assert window.weight_between(104, 110) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 359), st.integers(0, 30), st.integers(0, 3000)),
        min_size=1,
        max_size=80,
    ),
    st.integers(95, 140),
    st.integers(0, 50),
)
def test_window_weight_between_is_the_same_walking_the_range_or_the_buckets(
    reports: list[tuple[int, int, int]], first: int, span: int
) -> None:
    window = CategoryWindow()
    for offset, reporter, weight_milli in sorted(reports):
        add(window, 1000.0 + offset, f"reporter-{reporter}", weight_milli=weight_milli)
    newest: dict[str, tuple[int, int]] = {}
    for offset, reporter, weight_milli in sorted(reports):
        heaviest = max(weight_milli, newest.get(f"reporter-{reporter}", (0, 0))[1])
        newest[f"reporter-{reporter}"] = (int((1000.0 + offset) // 10), heaviest)
    last = first + span
    expected = sum(weight for bucket, weight in newest.values() if first <= bucket <= last)
    assert window.weight_between(first, last) == expected


def test_window_reporter_stays_credible_once_seen_credible() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "flagger", credible=False)
    assert window.credible_reporters == 0
    add(window, 1001.0, "flagger", credible=True)
    add(window, 1002.0, "flagger", credible=False)
    add(window, 1003.0, "someone-else", credible=False)
    assert window.credible_reporters == 1
    assert window.distinct_reporters == 2


def test_window_buckets_hold_reports_per_ten_seconds() -> None:
    window = CategoryWindow()
    for event_time in (1000.0, 1004.0, 1009.9, 1010.0, 1035.0):
        add(window, event_time, "r")
    assert window.buckets == {100: 3, 101: 1, 103: 1}
    assert window.reports == sum(window.buckets.values())


def test_window_keeps_only_the_newest_sample_report_ids() -> None:
    window = CategoryWindow()
    ids = [f"report-{index}" for index in range(MAX_SAMPLE_REPORT_IDS + 10)]
    for index, report_id in enumerate(ids):
        add(window, 1000.0 + index, f"u{index}", report_id=report_id)
    assert list(window.sample_report_ids) == ids[-MAX_SAMPLE_REPORT_IDS:]


# --- CategoryWindow: expiry --------------------------------------------------------------


def test_window_expire_keeps_the_bucket_that_is_still_inside() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "a")
    # the window ending at 1299.9 starts with bucket 100 (1299.9 -> bucket 129, 129 - 29)
    window.expire(SHAPE, 1299.9)
    assert window.reports == 1
    assert window.distinct_reporters == 1


def test_window_expire_drops_buckets_and_reporters_that_left() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "a", credible=True)
    add(window, 1005.0, "b")
    # at 1300 the window starts with bucket 101 (1010 s): bucket 100 has left
    window.expire(SHAPE, 1300.0)
    assert window.reports == 0
    assert window.distinct_reporters == 0
    assert window.credible_reporters == 0
    assert window.buckets == {}
    assert window.is_empty


def test_window_reporter_seen_again_survives_expiry_of_their_first_report() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "a")
    add(window, 1001.0, "b")
    add(window, 1200.0, "a")
    window.expire(SHAPE, 1300.0)
    assert window.reports == 1
    assert window.distinct_reporters == 1
    assert set(window.reporters) == {"a"}


def test_window_reporter_seen_again_out_of_order_keeps_the_newest_time() -> None:
    window = CategoryWindow()
    add(window, 1200.0, "a")
    add(window, 1190.0, "a")
    last_seen, *_ = window.reporters["a"]
    assert last_seen == 1200.0


def test_window_expire_drops_a_reporter_whose_late_report_left_the_window() -> None:
    window = CategoryWindow()
    add(window, 1000.0, "a")
    window.expire(SHAPE, 1000.0)
    add(window, 950.0, "b")  # 50 s behind the newest: within the 60 s lateness
    window.expire(SHAPE, 1000.0)
    add(window, 1260.0, "c")
    # the window ending at 1260 starts at 970 s: b (950) has left, a (1000) and c remain
    window.expire(SHAPE, 1260.0)
    assert window.reports == 2
    assert set(window.reporters) == {"a", "c"}
    assert window.distinct_reporters <= window.reports


# --- CategoryWindow: the reporter cap ----------------------------------------------------


def test_window_reporter_cap_drops_the_longest_unseen_reporters() -> None:
    shape = WindowShape(300, 10, 60, max_reporters=10)
    window = CategoryWindow()
    for index in range(25):
        add(window, 1000.0 + index, f"u{index}", credible=index < 18, shape=shape)
    assert window.distinct_reporters == 10
    assert list(window.reporters) == [f"u{index}" for index in range(15, 25)]
    assert window.credible_reporters == 3  # u15, u16, u17
    assert window.reports == 25  # the cap bounds reporters, not the report count


def test_window_reporter_cap_counts_a_returning_reporter_as_recently_seen() -> None:
    shape = WindowShape(300, 10, 60, max_reporters=3)
    window = CategoryWindow()
    for name in ("a", "b", "c"):
        add(window, 1000.0, name, shape=shape)
    add(window, 1001.0, "a", shape=shape)
    add(window, 1002.0, "d", shape=shape)
    assert set(window.reporters) == {"a", "c", "d"}


_ADDS = st.lists(
    st.tuples(
        st.floats(min_value=-20.0, max_value=40.0, allow_nan=False),  # time step
        st.integers(min_value=0, max_value=15),  # reporter
        st.booleans(),  # credible
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(adds=_ADDS, cap=st.integers(min_value=1, max_value=8))
def test_window_reporters_never_exceed_the_cap_and_counts_stay_consistent(
    adds: list[tuple[float, int, bool]], cap: int
) -> None:
    shape = WindowShape(300, 10, 60, max_reporters=cap)
    window = CategoryWindow()
    clock = 1_000_000.0
    watermark = clock
    for step, reporter, credible in adds:
        clock += step
        add(window, clock, f"u{reporter}", credible=credible, shape=shape)
        watermark = max(watermark, clock)
        window.expire(shape, watermark)
        assert len(window.reporters) <= cap
        assert window.credible_reporters == sum(
            credible for _, _, credible, _, _, _, _ in window.reporters.values()
        )
        assert window.reports == sum(window.buckets.values())
        assert min(window.buckets, default=shape.first_bucket(watermark)) >= shape.first_bucket(
            watermark
        )
        assert len(window.sample_report_ids) <= MAX_SAMPLE_REPORT_IDS


# --- CategoryWindow: stored round trip ---------------------------------------------------


def stored(window: CategoryWindow) -> Any:
    """The window's stored JSON, parsed."""
    return orjson.loads(window.encoded())


def in_arrival_order(window: CategoryWindow) -> list[str]:
    return sorted(window.reporters, key=lambda key: window.reporters[key][5])


def filled_window(adds: list[tuple[float, int, bool]], expire_steps: int) -> CategoryWindow:
    """A window after ``adds`` (weights differ by reporter), expired ``expire_steps`` s on."""
    window = CategoryWindow()
    clock = 5_000.0
    for step, reporter, credible in adds:
        clock += step
        add(window, clock, f"u{reporter}", credible=credible, weight_milli=1000 + reporter)
    window.expire(SHAPE, clock + expire_steps)
    return window


@settings(max_examples=300, deadline=None)
@given(adds=_ADDS, expire_steps=st.integers(min_value=0, max_value=400))
def test_window_stored_and_restored_is_the_same_window(
    adds: list[tuple[float, int, bool]], expire_steps: int
) -> None:
    window = filled_window(adds, expire_steps)

    restored = CategoryWindow.from_plain(stored(window))

    assert restored == window
    assert list(restored.reporters) == list(window.reporters)  # last-seen order kept
    assert restored.reports == window.reports
    assert restored.distinct_reporters == window.distinct_reporters
    assert restored.credible_reporters == window.credible_reporters
    assert len(restored.samples) <= MAX_SAMPLE_REPORT_IDS
    assert restored.encoded() == window.encoded()


@settings(max_examples=300, deadline=None)
@given(adds=_ADDS, expire_steps=st.integers(min_value=0, max_value=400))
def test_window_stored_in_format_1_loads_as_the_same_window(
    adds: list[tuple[float, int, bool]], expire_steps: int
) -> None:
    window = filled_window(adds, expire_steps)
    format_1 = {
        "b": list(window.buckets.items()),
        "r": [[key, *mark[:5]] for key, mark in window.reporters.items()],
        "s": list(window.samples),
    }

    restored = CategoryWindow.from_plain(orjson.loads(orjson.dumps(format_1)))

    assert [(key, mark[:5]) for key, mark in restored.reporters.items()] == [
        (key, mark[:5]) for key, mark in window.reporters.items()
    ]
    assert in_arrival_order(restored) == list(restored.reporters)
    assert {bucket: list(keys) for bucket, keys in restored.reporters_by_bucket.items()} == {
        bucket: list(keys) for bucket, keys in window.reporters_by_bucket.items()
    }
    assert restored.next_arrival == window.distinct_reporters
    assert (restored.reports, restored.buckets, restored.samples) == (
        window.reports,
        window.buckets,
        window.samples,
    )
    assert (restored.credible_reporters, restored.weight_milli, restored.suspect_reporters) == (
        window.credible_reporters,
        window.weight_milli,
        window.suspect_reporters,
    )
    assert restored.oldest_bucket == window.oldest_bucket


def test_window_restored_from_more_samples_than_it_keeps_keeps_the_newest() -> None:
    plain = {"b": [[100, 30]], "r": {}, "s": [[100, f"r-{n}"] for n in range(30)], "a": 0}
    window = CategoryWindow.from_plain(plain)
    assert window.sample_report_ids == [f"r-{n}" for n in range(30)][-MAX_SAMPLE_REPORT_IDS:]


def test_window_oldest_format_1_reporters_weigh_one_and_are_not_suspect() -> None:
    plain = {"b": [[100, 1]], "r": [["a", 1000.0, 100, True]], "s": [[100, "r-1"]]}
    window = CategoryWindow.from_plain(plain)
    assert window.reporters == {"a": (1000.0, 100, True, WEIGHT_UNIT, False, 0, False)}
    assert window.weight_milli == WEIGHT_UNIT
    assert window.credible_reporters == 1


def test_window_reporters_are_left_alone_by_the_garbage_collector() -> None:
    """Full collections walk every tracked object; a window's reporters must not be among them."""
    window = CategoryWindow()
    for index in range(1_000):
        add(window, 1000.0 + index / 10, f"u{index}", credible=index % 3 == 0)
    add(window, 1200.0, "u5", weight_milli=2 * WEIGHT_UNIT)
    gc.collect()
    assert not any(gc.is_tracked(mark) for mark in window.reporters.values())
    assert not any(gc.is_tracked(keys) for keys in window.reporters_by_bucket.values())


def test_window_indexes_each_reporter_by_one_mark_object() -> None:
    """By reporter and by bucket, the same object: compiled, a mark stored by value was two
    tuples (and two floats and ints) per reporter."""
    window = CategoryWindow()
    for index in range(50):
        add(window, 1000.0 + index, f"u{index % 20}", credible=index % 7 == 0)
    restored = CategoryWindow.from_plain(orjson.loads(window.encoded()))
    for each in (window, restored):
        assert each.reporters
        for key, mark in each.reporters.items():
            assert each.reporters_by_bucket[mark[1]][key] is mark


def test_window_empty_window_is_empty() -> None:
    window = CategoryWindow()
    assert window.is_empty
    assert window.distinct_reporters == 0
    add(window, 1.0, "a")
    assert not window.is_empty


# --- CategoryWindow: oldest bucket and cached encoding -----------------------------------


def _holds_anything_before(window: CategoryWindow, first: int) -> bool:
    return (
        any(bucket < first for bucket in window.buckets)
        or any(bucket < first for bucket in window.reporters_by_bucket)
        or any(bucket < first for bucket, _ in window.samples)
    )


@settings(max_examples=300, deadline=None)
@given(adds=_ADDS, cap=st.integers(min_value=1, max_value=8))
def test_window_oldest_bucket_says_exactly_when_expiry_has_work(
    adds: list[tuple[float, int, bool]], cap: int
) -> None:
    shape = WindowShape(300, 10, 60, max_reporters=cap)
    window = CategoryWindow()
    clock = 1_000_000.0
    watermark = clock
    for step, reporter, credible in adds:
        clock += step
        add(window, clock, f"u{reporter}", credible=credible, shape=shape)
        watermark = max(watermark, clock)
        for probe in (watermark, watermark + 150, watermark + 400):
            assert window.is_expired_by(shape, probe) == _holds_anything_before(
                window, shape.first_bucket(probe)
            )
        window.expire(shape, watermark)
        assert not _holds_anything_before(window, shape.first_bucket(watermark))


def test_window_expire_with_nothing_old_leaves_the_window_and_its_encoding_alone() -> None:
    window = CategoryWindow()
    window.store_apart(True)
    add(window, at(12, 0, 7), "a")
    encoded = window.encoded()
    window.expire(SHAPE, at(12, 4, 59))
    assert window.encoded() is encoded
    assert window.reports == 1


def stored_layout(window: CategoryWindow) -> dict[str, Any]:
    """Format 3 of a stored window, spelled out field by field: reporters by bucket, then
    arrival."""
    by_bucket_then_arrival = sorted(
        window.reporters.items(), key=lambda entry: (entry[1][1], entry[1][5])
    )
    return {
        "b": [[bucket, count] for bucket, count in window.buckets.items()],
        "r": {
            key: [last_seen, bucket, credible, weight_milli, suspect, arrival, unknown]
            for key, (last_seen, bucket, credible, weight_milli, suspect, arrival, unknown) in (
                by_bucket_then_arrival
            )
        },
        "s": [[bucket, report_id] for bucket, report_id in window.samples],
        "a": window.next_arrival,
    }


@settings(max_examples=300, deadline=None)
@given(adds=_ADDS, expire_steps=st.integers(min_value=0, max_value=400))
def test_window_cached_encoding_always_equals_encoding_afresh(
    adds: list[tuple[float, int, bool]], expire_steps: int
) -> None:
    window = CategoryWindow()
    clock = 5_000.0
    for step, reporter, credible in adds:
        clock += step
        add(window, clock, f"u{reporter}", credible=credible, weight_milli=1000 + reporter)
        assert window.encoded() == orjson.dumps(stored_layout(window))
        window.expire(SHAPE, clock + expire_steps)
        assert window.encoded() == orjson.dumps(stored_layout(window))
    restored = CategoryWindow.from_plain(stored(window))
    assert restored.oldest_bucket == window.oldest_bucket


def test_window_cached_encoding_is_rebuilt_after_a_report_and_after_expiry() -> None:
    window = CategoryWindow()
    window.store_apart(True)
    add(window, at(12, 0, 7), "a")
    before = window.encoded()
    add(window, at(12, 0, 8), "b")
    after_add = window.encoded()
    assert after_add != before
    window.expire(SHAPE, at(12, 5, 3))
    assert window.encoded() != after_add
    window.store_apart(False)
    assert window.encoded() == orjson.dumps(stored_layout(window))


def test_window_stored_inline_keeps_no_encoding_between_writes() -> None:
    """A small window's bytes held between writes were a sixth of a busy platform's state."""
    window = CategoryWindow()
    for index in range(20):
        add(window, at(12, 0, index), f"u{index}")
    assert window.encoded() == orjson.dumps(stored_layout(window))
    assert window._encoded is None
    assert not window._bucket_json
    window.store_apart(True)
    window.encoded()
    assert window._encoded is not None
    assert apart_reporters(window) == stored_layout(window)["r"]
    assert window._bucket_json
    window.store_apart(False)
    assert not window._bucket_json


def apart_reporters(window: CategoryWindow) -> dict[str, Any]:
    """The reporters a window stored apart writes, one record per bucket, read back as one."""
    members = [window.bucket_members(bucket) for bucket in sorted(window.reporters_by_bucket)]
    loaded: dict[str, Any] = orjson.loads(b"{%b}" % b",".join(members))
    return loaded


def test_window_bucket_emptied_by_a_tick_and_filled_again_is_encoded_afresh() -> None:
    """A tick expires a quiet broadcast's windows up to the wall clock, past its watermark."""
    window = CategoryWindow()
    window.store_apart(True)
    add(window, at(12, 0, 7), "a")
    apart_reporters(window)
    window.expire(SHAPE, at(12, 30, 0))
    assert not window._bucket_json, "no encoding kept for a bucket that has left"
    add(window, at(12, 0, 8), "b")
    assert list(apart_reporters(window)) == ["b"]
    assert apart_reporters(window) == stored_layout(window)["r"]


_CHANGES = st.lists(
    st.tuples(
        st.floats(min_value=-20.0, max_value=40.0, allow_nan=False),  # time step
        st.integers(min_value=0, max_value=40),  # reporter
        st.booleans(),  # credible
        st.integers(min_value=0, max_value=3),  # weight, whole reporters
        st.booleans(),  # suspect
        st.booleans(),  # encode now
    ),
    max_size=80,
)


@settings(max_examples=500, deadline=None)
@given(changes=_CHANGES, cap=st.integers(min_value=1, max_value=30), apart=st.booleans())
def test_window_encoding_kept_per_bucket_always_equals_encoding_afresh(
    changes: list[tuple[float, int, bool, int, bool, bool]], cap: int, apart: bool
) -> None:
    """New, returning (moved), upgraded and capped reporters and expiry, encoded at any time,
    inline or apart (where each bucket's encoding is kept until the bucket changes)."""
    shape = WindowShape(300, 10, 60, max_reporters=cap)
    window = CategoryWindow()
    window.store_apart(apart)
    clock = watermark = 1_000_000.0
    for step, reporter, credible, weight, suspect, encode_now in changes:
        clock += step
        watermark = max(watermark, clock)
        add(
            window,
            clock,
            f"u{reporter}",
            credible=credible,
            weight_milli=weight * WEIGHT_UNIT,
            suspect=suspect,
            shape=shape,
        )
        window.expire(shape, watermark)
        assert in_arrival_order(window) == list(window.reporters)
        assert {
            key: mark
            for marks in window.reporters_by_bucket.values()
            for key, mark in marks.items()
        } == window.reporters
        assert all(
            list(marks) == sorted(marks, key=lambda key: marks[key][5])
            and {mark[1] for mark in marks.values()} == {bucket}
            for bucket, marks in window.reporters_by_bucket.items()
        )
        assert window._bucket_json.keys() <= window.reporters_by_bucket.keys(), "kept for nothing"
        if encode_now and apart:
            assert apart_reporters(window) == stored_layout(window)["r"]
        elif encode_now:
            assert window.encoded() == orjson.dumps(stored_layout(window))
    window.store_apart(False)
    assert window.encoded() == orjson.dumps(stored_layout(window))
    restored = CategoryWindow.from_plain(stored(window))
    assert restored == window
    assert list(restored.reporters) == list(window.reporters)


# --- reporters the front end said nothing about ------------------------------------------


def test_window_counts_reporters_whose_reports_carried_no_reporter_object() -> None:
    window = CategoryWindow()
    add(window, at(12, 0, 0), "a", unknown=True)
    add(window, at(12, 0, 1), "a", unknown=True)
    add(window, at(12, 0, 2), "b", unknown=True)
    add(window, at(12, 0, 3), "c")
    assert (window.distinct_reporters, window.unknown_reporters) == (3, 2)


def test_reporter_stops_being_unknown_once_a_report_says_something_about_it() -> None:
    window = CategoryWindow()
    add(window, at(12, 0, 0), "a", unknown=True)
    add(window, at(12, 0, 1), "a")
    add(window, at(12, 0, 2), "a", unknown=True)
    assert window.unknown_reporters == 0


def test_unknown_reporters_leave_with_their_bucket_and_the_cap() -> None:
    window = CategoryWindow()
    add(window, at(12, 0, 0), "old", unknown=True)
    add(window, at(12, 4, 0), "new", unknown=True)
    window.expire(SHAPE, at(12, 5, 5))
    assert (window.distinct_reporters, window.unknown_reporters) == (1, 1)
    capped = WindowShape(300, 10, 60, max_reporters=1)
    add(window, at(12, 5, 6), "known", shape=capped)
    assert (window.distinct_reporters, window.unknown_reporters) == (1, 0)


def test_unknown_reporters_survive_the_stored_form() -> None:
    window = CategoryWindow()
    add(window, at(12, 0, 0), "a", unknown=True)
    add(window, at(12, 0, 1), "b")
    restored = CategoryWindow.from_plain(orjson.loads(window.encoded()))
    assert restored.unknown_reporters == 1
    assert restored.reporters == window.reporters


def test_window_stored_in_format_2_loads_with_no_reporter_counted_unknown() -> None:
    window = CategoryWindow()
    add(window, at(12, 0, 0), "a", unknown=True)
    add(window, at(12, 0, 1), "b", weight_milli=1500)
    format_2 = stored_layout(window)
    format_2["r"] = {key: mark[:6] for key, mark in format_2["r"].items()}

    restored = CategoryWindow.from_plain(orjson.loads(orjson.dumps(format_2)))

    assert restored.unknown_reporters == 0
    assert [(key, mark[:6]) for key, mark in restored.reporters.items()] == [
        (key, mark[:6]) for key, mark in window.reporters.items()
    ]
    assert restored.weight_milli == window.weight_milli
