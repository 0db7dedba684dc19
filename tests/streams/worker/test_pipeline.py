"""The batch pipeline without a broker: decode, dead-letter, re-route, decide, save."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

import orjson

from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from alerting.state import BroadcastState
from models.dead_letter import DeadLetterReason
from models.escalation import EventAction
from streams.worker.metrics import WorkerMetrics
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.state_cache import LEARNER_KEY_PREFIX, BroadcastStates
from tests.support.reports import TRUSTED_FLAGGER, keyed, report

POLICY = load_policy()


class CountingTable(dict[bytes, bytes]):
    """A dict that counts writes: each write is one changelog message live."""

    writes = 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def make_pipeline(table: dict[bytes, bytes] | None = None) -> tuple[ReportPipeline, WorkerMetrics]:
    metrics = WorkerMetrics(POLICY.teams)
    states = BroadcastStates(table if table is not None else {})
    pipeline = ReportPipeline(
        DetectionEngine(POLICY),
        states,
        metrics,
        max_message_bytes=64 * 1024,
        max_future_skew_seconds=300,
    )
    return pipeline, metrics


def messages(pairs: Sequence[tuple[bytes | None, bytes]]) -> list[InputMessage]:
    return [
        InputMessage(topic="in", partition=0, offset=i, key=k, value=v)
        for i, (k, v) in enumerate(pairs)
    ]


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_bad_input_is_dead_lettered_with_original_bytes_and_source_position() -> None:
    pipeline, metrics = make_pipeline()
    output = pipeline.process(messages([(b"k", b"{not json"), (b"k", b"\xff")]))
    reasons = [letter.reason for _, letter in output.dead_letters]
    assert reasons == [DeadLetterReason.NOT_JSON, DeadLetterReason.NOT_UTF8]
    first_key, first = output.dead_letters[0]
    assert first_key == b"k"
    assert base64.b64decode(first.payload_base64) == b"{not json"
    assert (first.source_topic, first.source_partition, first.source_offset) == ("in", 0, 0)
    assert sample(metrics, "spikewatch_dead_letters_total", reason="not_utf8") == 1


def test_far_future_event_time_is_dead_lettered_not_counted() -> None:
    pipeline, _metrics = make_pipeline()
    future = report("b-future", at=time.time() + 3600)
    output = pipeline.process(messages([keyed(future)]))
    assert [letter.reason for _, letter in output.dead_letters] == [
        DeadLetterReason.EVENT_TIME_OUT_OF_RANGE
    ]
    assert len(pipeline.states) == 0


def test_report_with_missing_or_wrong_key_is_rerouted_by_its_broadcast_id() -> None:
    pipeline, _ = make_pipeline()
    payload = report("b-rekey")
    value = orjson.dumps(payload)
    output = pipeline.process(messages([(None, value), (b"other", value)]))
    assert output.reroutes == [(b"b-rekey", value), (b"b-rekey", value)]
    assert len(pipeline.states) == 0, "a re-routed report is counted where it lands, not here"


def test_state_is_written_once_per_broadcast_per_batch() -> None:
    table = CountingTable()
    pipeline, _ = make_pipeline(table)
    batch = [keyed(report("b-one")) for _ in range(10)] + [keyed(report("b-two"))]
    output = pipeline.process(messages(batch))
    assert table.writes == 0, "states and learners are saved after the sends"
    pipeline.save(output)
    assert sum(1 for key in table if key.startswith(LEARNER_KEY_PREFIX)) == 1
    assert table.writes == 3  # each broadcast once, and the partition's learner once
    restored = BroadcastState.from_bytes(table[b"b-one"])
    assert sum(w.reports for w in restored.windows.values()) == 10


def test_trusted_child_safety_report_escalates_and_latency_is_measured() -> None:
    pipeline, metrics = make_pipeline()
    payload = report("b-cs", "child_safety", reporter=dict(TRUSTED_FLAGGER))
    output = pipeline.process(messages([keyed(payload)]))
    assert [e.event_action for e in output.escalations] == [EventAction.TRIGGER]
    assert sample(metrics, "spikewatch_decision_latency_seconds_count") == 1
    assert pipeline.next_offsets == {0: 1}


def test_unknown_category_is_counted_as_other_and_by_its_own_metric() -> None:
    pipeline, metrics = make_pipeline()
    pipeline.process(messages([keyed(report("b-new", "brand_new_category"))]))
    assert sample(metrics, "spikewatch_unknown_categories_total") == 1
    assert (
        sample(
            metrics,
            "spikewatch_reports_received_total",
            category="other",
            platform="periscope",
            outcome="accepted",
        )
        == 1
    )


def test_reports_on_a_broadcast_that_never_sent_its_audience_are_counted_by_platform() -> None:
    pipeline, metrics = make_pipeline()
    batch = [keyed(report("b-unsized", viewers=None)) for _ in range(3)]
    batch += [
        keyed(report("b-sized")),
        keyed(report("b-unsized", viewers=None, platform="twitter")),
    ]
    pipeline.process(messages(batch))
    pipeline.process(messages([keyed(report("b-sized", viewers=None))]))

    def without_audience(platform: str) -> float:
        return sample(metrics, "spikewatch_reports_without_audience_total", platform=platform)

    assert without_audience("periscope") == 3
    assert without_audience("twitter") == 1


def test_late_report_is_counted_late_and_not_in_the_window() -> None:
    pipeline, metrics = make_pipeline()
    now = time.time()
    late = now - POLICY.window.allowed_lateness_seconds - 30
    pipeline.process(messages([keyed(report("b-late", at=now)), keyed(report("b-late", at=late))]))
    state = pipeline.states.get("b-late")
    assert sum(w.reports for w in state.windows.values()) == 1
    assert (
        sample(
            metrics,
            "spikewatch_reports_received_total",
            category="harassment",
            platform="periscope",
            outcome="late",
        )
        == 1
    )


def test_a_batch_is_counted_per_category_platform_and_outcome() -> None:
    pipeline, metrics = make_pipeline()
    batch = [keyed(report("b-tally", "spam")) for _ in range(3)]
    batch += [keyed(report("b-tally", "harassment")), (b"wrong-key", orjson.dumps(report("b-x")))]
    pipeline.process(messages(batch))

    def received(category: str, outcome: str) -> float:
        return sample(
            metrics,
            "spikewatch_reports_received_total",
            category=category,
            platform="periscope",
            outcome=outcome,
        )

    assert received("spam", "accepted") == 3
    assert received("harassment", "accepted") == 1
    assert received("harassment", "rerouted") == 1


def test_each_partition_clock_moves_to_the_newest_event_time_its_batch_counted() -> None:
    pipeline, _ = make_pipeline()
    now = float(int(time.time()))  # whole seconds: reported_at keeps microseconds only
    pipeline.stream_times[1] = now - 5
    times = {0: [now - 50, now - 10, now - 30], 1: [now - 40, now - 20], 2: [now - 90]}
    batch = [
        InputMessage("in", partition, offset, *keyed(report(f"b-{partition}-{offset}", at=at)))
        for partition, at_times in times.items()
        for offset, at in enumerate(at_times)
    ]
    output = pipeline.process(batch)
    assert pipeline.stream_times == {0: now - 10, 1: now - 5, 2: now - 90}
    assert output.newest_event_time == now - 10
    assert pipeline.next_offsets == {0: 3, 1: 2, 2: 1}


def test_a_batch_with_nothing_counted_leaves_the_clocks_alone() -> None:
    pipeline, _ = make_pipeline()
    output = pipeline.process(messages([(b"b", b"not json")]))
    assert output.newest_event_time is None
    assert pipeline.stream_times == {}


def test_batches_saved_together_write_each_broadcast_once_with_all_their_reports() -> None:
    table = CountingTable()
    pipeline, _ = make_pipeline(table)
    fetch = messages([keyed(report("b-one")) for _ in range(7)] + [keyed(report("b-two"))])
    first, second = pipeline.process(fetch[:4]), pipeline.process(fetch[4:])
    pipeline.save(first, second)
    assert table.writes == 3  # b-one once, b-two once, the partition's learner once
    restored = BroadcastState.from_bytes(table[b"b-one"])
    assert sum(w.reports for w in restored.windows.values()) == 7
