"""Tests for alerting/state_records.py: a state as a head and a record per bucket."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.reporter_mark import WEIGHT_UNIT, ReporterStanding
from alerting.state import BroadcastState
from alerting.state_records import (
    APART_ABOVE,
    COMBINED_TAG,
    INLINE_AT,
    bucket_key,
    is_head_key,
    owner_key,
    restore_state,
    state_keys,
    state_records,
)
from alerting.window_shape import WindowShape
from models.report import Category

SHAPE = WindowShape(
    length_seconds=60, bucket_seconds=10, allowed_lateness_seconds=0, max_reporters=10_000
)
T0 = 1_800_000_000.0
HARASSMENT, HATE, SPAM = Category.HARASSMENT, Category.HATEFUL_CONDUCT, Category.SPAM
STANDING = ReporterStanding(credible=False, weight_milli=WEIGHT_UNIT, suspect=False)


def count(state: BroadcastState, category: Category, reporter: int, at: float) -> None:
    """One report, counted as the engine counts it: its category's window and, for an abuse
    category, the broadcast's."""
    watermark = at if state.watermark is None else max(state.watermark, at)
    key = f"{reporter:016x}"
    report_id = f"report-{reporter}-{at}"
    abuse = category is not SPAM
    state.count(
        SHAPE, category, abuse, SHAPE.bucket_of(at), at, watermark, key, STANDING, report_id
    )
    state.watermark = watermark


def write(state: BroadcastState, table: dict[bytes, bytes]) -> dict[bytes, bytes | None]:
    records = state_records(state)
    for key, value in records.items():
        if value is None:
            del table[key]
        else:
            table[key] = value
    return records


def restored(table: dict[bytes, bytes], broadcast_id: str = "b-1") -> BroadcastState:
    return restore_state(table[broadcast_id.encode()], table.get)


def assert_restores(table: dict[bytes, bytes], state: BroadcastState) -> None:
    """The table gives back the state: its windows as they are in memory, all else as stored
    (an expired shared window leaves ``shared`` naming a category with no window in memory,
    which no stored form keeps)."""
    again = restored(table)
    assert again.windows == state.windows
    assert again.combined == state.combined
    assert again.to_bytes() == state.to_bytes()
    assert set(table) == set(state_keys(state))


def large_state(reporters: int = APART_ABOVE + 1) -> BroadcastState:
    state = BroadcastState("b-1")
    for reporter in range(reporters):
        count(state, HARASSMENT, reporter, T0 + reporter * 0.5)
    return state


def test_a_small_state_is_one_record_its_whole_state() -> None:
    state = large_state(APART_ABOVE)
    assert state_records(state) == {b"b-1": state.to_bytes()}
    assert "r" in orjson.loads(state.to_bytes())["w"]["harassment"]


def test_a_large_window_is_a_record_per_bucket_before_its_head() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    records = write(state, table)
    buckets = sorted(state.windows[HARASSMENT].reporters_by_bucket)
    assert list(records) == [*(bucket_key(b"b-1", "harassment", b) for b in buckets), b"b-1"]
    head = orjson.loads(records[b"b-1"] or b"")
    assert head["w"]["harassment"]["rb"] == buckets
    assert "r" not in head["w"]["harassment"]
    assert head["a"] == "harassment", "the broadcast's window is still harassment's own"
    assert_restores(table, state)


def test_a_write_sends_only_the_buckets_that_changed() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    write(state, table)
    count(state, HARASSMENT, 10_000, T0 + APART_ABOVE * 0.5)
    newest = SHAPE.bucket_of(T0 + APART_ABOVE * 0.5)
    assert list(write(state, table)) == [bucket_key(b"b-1", "harassment", newest), b"b-1"]
    assert list(write(state, table)) == [b"b-1"], "nothing changed: the head alone"
    assert_restores(table, state)


def test_a_reporter_moving_to_a_newer_bucket_rewrites_both() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    write(state, table)
    at = T0 + APART_ABOVE * 0.5
    count(state, HARASSMENT, 0, at)
    assert set(write(state, table)) == {
        bucket_key(b"b-1", "harassment", SHAPE.bucket_of(T0)),
        bucket_key(b"b-1", "harassment", SHAPE.bucket_of(at)),
        b"b-1",
    }
    assert_restores(table, state)


def test_a_bucket_leaving_the_window_is_deleted() -> None:
    state = large_state(200)
    table: dict[bytes, bytes] = {}
    write(state, table)
    oldest = min(state.windows[HARASSMENT].reporters_by_bucket)
    assert state.watermark is not None
    count(state, HARASSMENT, 10_000, state.watermark + SHAPE.bucket_seconds)
    records = write(state, table)
    assert records[bucket_key(b"b-1", "harassment", oldest)] is None
    assert_restores(table, state)


def test_a_window_that_shrinks_goes_back_inline() -> None:
    state = large_state(APART_ABOVE + 1)
    table: dict[bytes, bytes] = {}
    write(state, table)
    window = state.windows[HARASSMENT]
    while len(window.reporters) > INLINE_AT + 1:
        window._forget(next(iter(window.reporters)))
    write(state, table)
    assert any(not is_head_key(key) for key in table), "above the lower mark: still apart"
    window._forget(next(iter(window.reporters)))
    write(state, table)
    assert list(table) == [b"b-1"]
    assert "r" in orjson.loads(table[b"b-1"])["w"]["harassment"]
    assert_restores(table, state)


def test_a_second_category_stores_the_broadcast_window_apart_under_its_own_tag() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    write(state, table)
    count(state, HATE, 5_000, T0 + 40)
    write(state, table)
    tags = {key.split(b"\xff")[1] for key in table if not is_head_key(key)}
    assert tags == {b"harassment", COMBINED_TAG.encode()}
    assert_restores(table, state)


def test_a_dropped_window_takes_its_records_with_it() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    write(state, table)
    state.expire_windows(SHAPE, T0 + 10_000)
    write(state, table)
    assert list(table) == [b"b-1"]
    assert_restores(table, state)


def test_state_keys_are_every_record_so_deleting_them_empties_the_table() -> None:
    state = large_state(300)
    count(state, SPAM, 7, T0 + 1)
    table: dict[bytes, bytes] = {}
    write(state, table)
    assert set(state_keys(state)) == set(table)


def test_a_restored_state_writes_only_what_changes_after_it() -> None:
    state = large_state()
    table: dict[bytes, bytes] = {}
    write(state, table)
    again = restored(table)
    assert list(write(again, table)) == [b"b-1"], "its buckets are the ones the table holds"
    assert_restores(table, state)


def test_every_record_of_a_broadcast_names_it_as_owner() -> None:
    key = bucket_key("stream-\x00ü".encode(), "harassment", 177812)
    assert owner_key(key) == "stream-\x00ü".encode()
    assert owner_key(b"stream-1") == b"stream-1"
    assert owner_key(b"\xffrates:3") == b"\xffrates:3", "a learner's key is its own"
    assert not is_head_key(key)
    assert not is_head_key(b"\xffrates:3")
    assert is_head_key(b"s")


ADD = st.tuples(
    st.just("add"), st.sampled_from([HARASSMENT, HATE, SPAM]), st.integers(0, 150), st.floats(0, 2)
)
"""A run of :data:`RUN` reporters from the one drawn: windows grow past :data:`APART_ABOVE`
and shrink below :data:`INLINE_AT` within a few operations."""
RUN = 20
OTHER = st.tuples(
    st.sampled_from(["tick", "write", "restart"]), st.just(HARASSMENT), st.just(0), st.floats(0, 30)
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(*[ADD] * 8, OTHER), max_size=800))
def test_the_table_always_restores_the_state_written(
    operations: list[tuple[str, Category, int, float]],
) -> None:
    state, now = BroadcastState("b-1"), T0
    table: dict[bytes, bytes] = {}
    for operation, category, reporter, step in operations:
        now += step
        if operation == "add":
            for number in range(reporter, reporter + RUN):
                count(state, category, number, now)
        elif operation == "tick":
            state.expire_windows(SHAPE, now)
        elif operation == "write":
            write(state, table)
            assert_restores(table, state)
        elif b"b-1" in table:
            write(state, table)
            state = restored(table)
    write(state, table)
    assert_restores(table, state)
