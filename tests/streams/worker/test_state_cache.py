"""The decoded working set over the durable table."""

from __future__ import annotations

from alerting.reporter_mark import WEIGHT_UNIT, ReporterStanding
from alerting.state import BroadcastState
from alerting.state_records import APART_ABOVE, is_head_key
from alerting.window import CategoryWindow
from alerting.window_shape import WindowShape
from models.report import Category
from streams.worker.state_cache import BroadcastStates

SHAPE = WindowShape(60, 10, 0, 10_000)


def by_last_digit(key: bytes) -> int:
    return int(key.decode()[-1]) % 2


def by_last_byte(key: bytes) -> int:
    """Learner keys too, which are not UTF-8 (their last byte is an ASCII digit)."""
    return key[-1] % 2


def test_get_decodes_stored_state_and_caches_it() -> None:
    stored = BroadcastState("b1", viewers=42)
    table = {b"b1": stored.to_bytes()}
    states = BroadcastStates(table, by_last_digit)
    first = states.get("b1")
    assert first.viewers == 42
    assert states.get("b1") is first


def test_unknown_broadcast_starts_empty_and_is_not_written_until_saved() -> None:
    table: dict[bytes, bytes] = {}
    states = BroadcastStates(table, by_last_digit)
    state = states.get("b2")
    assert state.watermark is None
    assert table == {}
    states.save([state])
    assert BroadcastState.from_bytes(table[b"b2"]).broadcast_id == "b2"


def test_evict_removes_from_cache_and_table() -> None:
    table = {b"b1": BroadcastState("b1").to_bytes()}
    states = BroadcastStates(table, by_last_digit)
    states.get("b1")
    states.evict("b1")
    assert table == {}
    assert len(states) == 0


def test_reload_keeps_only_owned_partitions_and_retain_drops_revoked_ones() -> None:
    table = {f"b{i}".encode(): BroadcastState(f"b{i}").to_bytes() for i in range(6)}
    states = BroadcastStates(table, by_last_digit)
    states.reload({0})
    assert sorted(s.broadcast_id for s in states) == ["b0", "b2", "b4"]
    states.get("b1")
    states.retain({1})
    assert sorted(s.broadcast_id for s in states) == ["b1"]


def test_a_learner_of_a_partition_handed_on_is_not_written_after_retain() -> None:
    table: dict[bytes, bytes] = {}
    states = BroadcastStates(table, by_last_byte)
    states.learner(0)
    states.learner(1)
    states.retain({1})
    states.save_learners([0, 1])
    assert [by_last_byte(key) for key in table] == [1]


def large_state(broadcast_id: str) -> BroadcastState:
    """A broadcast whose harassment window (also its broadcast-wide one) is stored apart."""
    state = BroadcastState(broadcast_id, watermark=1_800_000_040.0)
    window = state.windows[Category.HARASSMENT] = CategoryWindow()
    state.broadcast_window(Category.HARASSMENT, window)
    standing = ReporterStanding(credible=False, weight_milli=WEIGHT_UNIT, suspect=False)
    for reporter in range(APART_ABOVE * 2):
        at = 1_800_000_000.0 + reporter * 0.3
        window.add(SHAPE, SHAPE.bucket_of(at), at, f"{reporter:016x}", standing, f"r{reporter}")
    return state


def test_a_large_state_is_saved_as_records_and_restored_whole() -> None:
    table: dict[bytes, bytes] = {}
    saved = large_state("b1")
    BroadcastStates(table, by_last_digit).save([saved])
    assert sum(1 for key in table if not is_head_key(key)) > 1
    restored = BroadcastStates(table, by_last_digit).get("b1")
    assert restored.windows == saved.windows


def test_evict_deletes_every_record_of_a_state_cached_or_not() -> None:
    table: dict[bytes, bytes] = {}
    BroadcastStates(table, by_last_digit).save([large_state("b1"), large_state("b3")])
    states = BroadcastStates(table, by_last_digit)
    states.get("b1")
    states.evict("b1")
    states.evict("b3")
    assert table == {}


def test_reload_restores_heads_and_skips_bucket_records() -> None:
    table: dict[bytes, bytes] = {}
    BroadcastStates(table, by_last_digit).save([large_state("b1"), BroadcastState("b3")])
    states = BroadcastStates(table, by_last_digit)
    states.reload({1})
    assert sorted(s.broadcast_id for s in states) == ["b1", "b3"]
