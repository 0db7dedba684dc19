"""Shadow mode and learning in the pipeline: separate state, marked output, durable learners."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson

from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from alerting.state import BroadcastState
from models.escalation import EventAction
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.shadow import ShadowLane
from streams.worker.state_cache import LEARNER_KEY_PREFIX, BroadcastStates
from streams.worker.watchlist_file import WatchlistFile
from tests.alerting.helpers import with_changes
from tests.support.reports import ORDINARY_VIEWER, keyed, report

POLICY = load_policy()
# The candidate: a floor of 3 weighted reporters instead of 5.
CANDIDATE = with_changes(POLICY, spike={"min_distinct_reporters": 3})


def pipelines() -> tuple[ReportPipeline, dict[bytes, bytes], dict[bytes, bytes]]:
    active_table: dict[bytes, bytes] = {}
    shadow_table: dict[bytes, bytes] = {}
    shadow = ShadowLane(DetectionEngine(CANDIDATE), BroadcastStates(shadow_table))
    pipeline = ReportPipeline(
        DetectionEngine(POLICY),
        BroadcastStates(active_table),
        WorkerMetrics(POLICY.teams),
        max_message_bytes=65536,
        max_future_skew_seconds=300,
        shadow=shadow,
    )
    return pipeline, active_table, shadow_table


def batch(count: int, broadcast: str = "b-shadow") -> list[InputMessage]:
    now = time.time()
    pairs = [
        keyed(report(broadcast, viewers=100, at=now + i, reporter=dict(ORDINARY_VIEWER)))
        for i in range(count)
    ]
    return [InputMessage("in", 0, i, key, value) for i, (key, value) in enumerate(pairs)]


def test_candidate_policy_escalates_in_shadow_only_and_marks_it() -> None:
    pipeline, active_table, shadow_table = pipelines()
    output = pipeline.process(batch(3))
    pipeline.save(output)
    assert output.escalations == []
    assert [e.event_action for e in output.shadow_escalations] == [EventAction.TRIGGER]
    assert all(e.shadow for e in output.shadow_escalations)
    active = BroadcastState.from_bytes(active_table[b"b-shadow"])
    shadow = BroadcastState.from_bytes(shadow_table[b"b-shadow"])
    assert active.incidents == {}
    assert len(shadow.incidents) == 1


def test_shadow_resolves_on_the_tick_without_touching_the_active_state() -> None:
    pipeline, active_table, _ = pipelines()
    pipeline.save(pipeline.process(batch(3)))
    before = active_table[b"b-shadow"]
    ticked = pipeline.tick(time.time() + 10 * POLICY.lifecycle.resolve_after_quiet_seconds)
    pipeline.commit(ticked)
    assert ticked.escalations == []
    assert [e.event_action for e in ticked.shadow_escalations] == [EventAction.RESOLVE]
    assert all(e.shadow for e in ticked.shadow_escalations)
    assert b"b-shadow" not in active_table or active_table[b"b-shadow"] == before


def test_learner_is_stored_under_a_key_of_its_own_partition_and_restored() -> None:
    table: dict[bytes, bytes] = {}
    partitions = 4
    states = BroadcastStates(table, lambda key: sum(key) % partitions)
    for partition in range(partitions):
        states.learner(partition).exposure = 1000.0 * (partition + 1)
    states.save_learners(range(partitions))
    keys = [key for key in table if key.startswith(LEARNER_KEY_PREFIX)]
    assert sorted(sum(key) % partitions for key in keys) == list(range(partitions))
    restored = BroadcastStates(table, lambda key: sum(key) % partitions)
    assert [restored.learner(p).exposure for p in range(partitions)] == [1000, 2000, 3000, 4000]
    restored.reload(set(range(partitions)))
    assert len(restored) == 0  # learner keys are never mistaken for broadcasts
    assert orjson.loads(table[keys[0]])["e"] > 0


def test_watchlist_file_is_picked_up_when_it_changes(tmp_path: Path) -> None:
    listed = tmp_path / "vip.txt"
    listed.write_text("owner-a\n", encoding="utf-8")
    policy = with_changes(POLICY, high_profile={"watchlist_file": str(listed)})
    watcher = WatchlistFile(policy)
    assert watcher.changed() is None
    listed.write_text("owner-a\nowner-b\n", encoding="utf-8")
    os.utime(listed, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert watcher.changed() == frozenset({"owner-a", "owner-b"})
    assert watcher.changed() is None
