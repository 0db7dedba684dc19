"""Memory is bounded by the policy, not by the input: sizes and tracemalloc, not timing.

A flood on one broadcast is capped by ``max_reporters_per_category`` and the
bucket ring; very many broadcasts are bounded by eviction of idle state (no
open incident, every window emptied: ``window.length_seconds`` +
``allowed_lateness_seconds`` after a broadcast's last report), driven here the
way the worker's timer drives it.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

from alerting.detection_policy import WindowPolicy
from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from alerting.state import BroadcastState
from models.report import Category, ReportEvent
from streams.worker.state_cache import BroadcastStates
from tests.support.faults import record_figures
from tests.support.reports import ORDINARY_VIEWER, report

POLICY = load_policy()
T0 = 1_800_000_000.0


def engine_with(**window: float) -> DetectionEngine:
    shape = WindowPolicy(**{**POLICY.window.model_dump(), **window})
    return DetectionEngine(POLICY.model_copy(update={"window": shape}))


def variant(template: ReportEvent, at: float, **fields: object) -> ReportEvent:
    return template.model_copy(update={"reported_at": datetime.fromtimestamp(at, UTC), **fields})


def test_flood_on_one_broadcast_is_capped() -> None:
    engine = engine_with(max_reporters_per_category=100)
    state = BroadcastState("flooded")
    template = ReportEvent.model_validate(report("flooded", viewers=1000))

    def flood(first: int, count: int) -> None:
        for number in range(first, first + count):
            engine.observe(state, variant(template, T0 + number / 100, reporter_id=f"u{number}"))

    tracemalloc.start()
    try:
        flood(0, 2_000)
        after_warm_up = tracemalloc.get_traced_memory()[0]
        flood(2_000, 18_000)
        after_flood = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    window = state.windows[Category.HARASSMENT]
    record_figures(
        "flood_one_broadcast",
        {
            "reports": 20_000,
            "reporters_kept": window.distinct_reporters,
            "buckets_kept": len(window.buckets),
            "state_bytes": len(state.to_bytes()),
            "traced_growth_bytes_after_warm_up": after_flood - after_warm_up,
        },
    )
    assert window.distinct_reporters == 100
    assert len(window.buckets) <= engine.shape.bucket_count
    assert len(window.sample_report_ids) <= 20
    assert len(state.to_bytes()) < 16 * 1024
    assert after_flood - after_warm_up < 64 * 1024, "18,000 more reports, no more memory"


def test_very_many_broadcasts_are_bounded_by_eviction_of_idle_state() -> None:
    engine = engine_with(length_seconds=10, bucket_seconds=2, allowed_lateness_seconds=4)
    table: dict[bytes, bytes] = {}
    states = BroadcastStates(table)
    new_per_second, seconds, tick_every = 120, 200, 2
    template = ReportEvent.model_validate(
        report("b", "spam", viewers=1_000_000, reporter=dict(ORDINARY_VIEWER))
    )
    peak_tracked = 0
    traced: dict[int, int] = {}
    tracemalloc.start()
    try:
        for second in range(seconds):
            now = T0 + second
            for number in range(new_per_second):
                broadcast_id = f"b{second}-{number}"
                state = states.get(broadcast_id)
                engine.observe(state, variant(template, now, broadcast_id=broadcast_id))
                states.save([state])
            if second % tick_every == 0:
                for state in states:
                    if engine.tick(state, now).evictable:
                        states.evict(state.broadcast_id)
            peak_tracked = max(peak_tracked, len(states))
            if second in (seconds // 2, seconds - 1):
                traced[second] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    bound = new_per_second * (10 + 4 + tick_every + 2)
    halfway, end = traced[seconds // 2], traced[seconds - 1]
    record_figures(
        "many_broadcasts",
        {
            "broadcasts": new_per_second * seconds,
            "peak_tracked": peak_tracked,
            "bound": bound,
            "table_entries_at_end": len(table),
            "traced_bytes_halfway": halfway,
            "traced_bytes_at_end": end,
        },
    )
    assert peak_tracked <= bound
    assert len(table) <= bound
    assert end < halfway * 1.25, "twice the broadcasts, not twice the memory"


def test_a_long_lived_broadcast_keeps_no_stale_window_of_a_quiet_category() -> None:
    engine = DetectionEngine(POLICY)
    state = BroadcastState("long-lived")
    template = ReportEvent.model_validate(report("long-lived", "spam", viewers=1_000_000))
    engine.observe(state, variant(template, T0, category=Category.HARASSMENT, reporter_id="once"))
    length = POLICY.window.length_seconds
    for second in range(0, int(3 * length), 5):
        engine.observe(state, variant(template, T0 + second, reporter_id=f"u{second}"))
        engine.tick(state, T0 + second)
    assert set(state.windows) == {Category.SPAM}, "the quiet category's window is dropped"
    spam = state.windows[Category.SPAM]
    assert spam.distinct_reporters <= length / 5 + 1, "only reporters inside the window"
