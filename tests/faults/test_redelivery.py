"""Re-delivered reports (a replay after a crash) are recognised, not counted twice.

The pipeline half of crash recovery, without a broker: the state saved to the
table carries the offset of the last report counted into it, so a restarted
worker that is handed the same messages again skips exactly those.
"""

from __future__ import annotations

import orjson

from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from alerting.state import BroadcastState
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.state_cache import BroadcastStates
from tests.support.reports import keyed, report

POLICY = load_policy()


def restarted_worker(table: dict[bytes, bytes]) -> tuple[ReportPipeline, WorkerMetrics]:
    """A fresh pipeline whose only memory is the table, as after ``kill -9``."""
    metrics = WorkerMetrics(POLICY.teams)
    pipeline = ReportPipeline(
        DetectionEngine(POLICY),
        BroadcastStates(table),
        metrics,
        max_message_bytes=64 * 1024,
        max_future_skew_seconds=300,
    )
    return pipeline, metrics


def at_offsets(first: int, payloads: list[dict[str, object]]) -> list[InputMessage]:
    return [
        InputMessage(topic="in", partition=2, offset=first + i, key=key, value=value)
        for i, (key, value) in enumerate(keyed(p) for p in payloads)
    ]


def replayed(metrics: WorkerMetrics) -> float:
    labels = {"category": "harassment", "platform": "periscope", "outcome": "replayed"}
    return metrics.registry.get_sample_value("spikewatch_reports_received_total", labels) or 0.0


def test_messages_redelivered_after_a_crash_are_skipped_exactly() -> None:
    table: dict[bytes, bytes] = {}
    traffic = [report("redelivered", viewers=100_000) for _ in range(15)]
    first, _ = restarted_worker(table)
    saved = first.process(at_offsets(0, traffic[:10]))
    first.save(saved)

    second, metrics = restarted_worker(table)
    again = second.process(at_offsets(5, traffic[5:]))
    second.save(again)

    state = BroadcastState.from_bytes(table[b"redelivered"])
    assert sum(w.reports for w in state.windows.values()) == 15
    assert state.input_offset == 14
    assert replayed(metrics) == 5


def test_a_state_lost_before_it_was_saved_is_rebuilt_by_the_replay() -> None:
    table: dict[bytes, bytes] = {}
    traffic = [report("unsaved", viewers=100_000) for _ in range(6)]
    crashed, _ = restarted_worker(table)
    crashed.process(at_offsets(0, traffic))
    assert table == {}, "died after deciding, before saving"

    second, metrics = restarted_worker(table)
    second.save(second.process(at_offsets(0, traffic)))
    state = BroadcastState.from_bytes(table[b"unsaved"])
    assert sum(w.reports for w in state.windows.values()) == 6
    assert replayed(metrics) == 0


def test_states_written_before_the_offset_was_kept_still_load() -> None:
    state = BroadcastState("older")
    plain = orjson.loads(state.to_bytes())
    assert "o" not in plain
    assert BroadcastState.from_bytes(orjson.dumps(plain)).input_offset is None
