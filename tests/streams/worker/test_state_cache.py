"""The decoded working set over the durable table."""

from __future__ import annotations

from alerting.state import BroadcastState
from streams.worker.state_cache import BroadcastStates


def by_last_digit(key: bytes) -> int:
    return int(key.decode()[-1]) % 2


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
