"""The whole worker on the real broker: reports in, escalations and dead letters out.

One worker serves the first three tests; each test uses its own broadcasts, so
their results cannot mix.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from alerting.policy import load_policy
from models.dead_letter import DeadLetter, DeadLetterReason
from models.escalation import EventAction, Severity
from models.escalation_v2 import EscalationV2, parse_escalation
from models.report import Category
from streams.replay.traffic import MALFORMED_SAMPLES
from tests.support.kafka import Record, read_until, send_all
from tests.support.live_worker import (
    FAUST_WORKER,
    WorkerConfig,
    WorkerProcess,
    metric_samples,
    metric_value,
)
from tests.support.reports import ORDINARY_VIEWER, TRUSTED_FLAGGER, keyed, report

pytestmark = pytest.mark.kafka

POLICY = load_policy()
CLOCK_CORRECTIONS = "spikewatch_report_clock_corrections_total"


@pytest.fixture(scope="module")
def worker(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=Path(tmp_path_factory.mktemp("worker")))
    process = WorkerProcess(config).start()
    try:
        yield process
    finally:
        process.stop()


def oncall_until_triggered(
    config: WorkerConfig, broadcast_id: str, settle: float = 0.0
) -> list[Record]:
    """Every on-call record of the deployment, read until ``broadcast_id`` has a trigger
    (and ``settle`` seconds more for what follows it)."""
    return asyncio.run(
        read_until(
            config.bootstrap,
            None,
            pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
            done=triggers_for(broadcast_id),
            within=60,
            settle=settle,
        )
    )


def escalations_of(records: list[Record], broadcast_id: str) -> list[tuple[Record, EscalationV2]]:
    found = []
    for record in records:
        assert record.value is not None
        escalation = parse_escalation(record.value)
        if escalation.labels.broadcast_id == broadcast_id:
            found.append((record, escalation))
    return found


def triggers_for(broadcast_id: str) -> Callable[[list[Record]], bool]:
    def done(records: list[Record]) -> bool:
        return any(
            e.event_action is EventAction.TRIGGER for _, e in escalations_of(records, broadcast_id)
        )

    return done


def test_spike_on_small_broadcast_gives_exactly_one_trigger_on_its_team_topic(
    worker: WorkerProcess,
) -> None:
    config = worker.config
    target = "small-spike"
    surge = [report(target, "harassment", viewers=800) for _ in range(15)]
    asyncio.run(send_all(config.bootstrap, config.input_topic, [keyed(r) for r in surge]))

    records = oncall_until_triggered(config, target, settle=4.0)
    found = escalations_of(records, target)
    triggers = [(r, e) for r, e in found if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1, [e.summary for _, e in found]
    record, escalation = triggers[0]
    team = POLICY.category(escalation.labels.category).team
    assert record.topic == f"{config.oncall_prefix}{team}"
    assert record.key == escalation.dedup_key.encode()
    assert escalation.severity is Severity.ERROR
    assert escalation.escalation_class.value == "report_spike"
    assert escalation.sequence == 1
    assert escalation.policy_version == POLICY.policy_version
    assert escalation.labels.team == "hate-harassment"
    assert escalation.labels.broadcaster_id == f"owner-{target}"
    assert escalation.evidence.viewers == 800
    spike = next(rule for rule in escalation.evidence.rules if rule.rule == "audience_spike")
    assert float(spike.figures["weighted_reporters"]) >= POLICY.spike.min_distinct_reporters
    sent_ids = {r["report_id"] for r in surge}
    assert set(escalation.evidence.sample_report_ids) <= sent_ids
    assert any(rule.rule == "audience_spike" and rule.fired for rule in escalation.evidence.rules)
    wire = orjson.loads(record.value or b"")
    assert wire["class"] == "report_spike"
    assert {
        "event_id",
        "dedup_key",
        "sequence",
        "event_action",
        "severity",
        "summary",
        "labels",
        "evidence",
        "detected_at",
        "starts_at",
        "policy_version",
    } <= wire.keys()


def test_benign_volume_on_a_huge_audience_and_repeat_clicks_page_nobody(
    worker: WorkerProcess,
) -> None:
    """A 2,000,000-viewer broadcast's ordinary window of reports, spread over the window's
    five minutes of event time as ordinary reports are (all in one instant they would be
    a tenfold jump in half a minute, which the short test rightly pages)."""
    config = worker.config
    viral, small = "viral-benign", "repeat-clicker"
    viewers = 2_000_000
    window = POLICY.window.length_seconds
    start = time.time() - window
    arrivals = []
    for category, route in POLICY.categories.items():
        count = int(route.base_rate_per_viewer_second * viewers * window)
        arrivals += [(start + window * (n + 0.5) / count, category.value) for n in range(count)]
    benign = [
        report(viral, category, at=at, viewers=viewers, reporter=dict(ORDINARY_VIEWER))
        for at, category in sorted(arrivals)
    ]
    clicks = [
        report(small, "harassment", reporter_id="same-person", viewers=300) for _ in range(30)
    ]
    marker = report("benign-marker", "child_safety", reporter=dict(TRUSTED_FLAGGER))
    messages = [keyed(r) for r in benign + clicks + [marker]]
    asyncio.run(send_all(config.bootstrap, config.input_topic, messages))

    records = oncall_until_triggered(config, "benign-marker", settle=2.0)
    assert len(benign) > 500, "the benign load must be large enough to matter"
    assert escalations_of(records, "benign-marker"), "the marker proves the batch was processed"
    assert escalations_of(records, viral) == []
    assert escalations_of(records, small) == []


def test_the_learners_it_holds_are_on_its_metrics_page_per_partition(
    worker: WorkerProcess,
) -> None:
    """The gauges are computed when scraped from the learners the worker holds: a partition
    it has read shows every category's rate and its reporters' dispersion."""
    config = worker.config
    ordinary = [
        report("learner-ordinary", "spam", viewers=4_000, reporter=dict(ORDINARY_VIEWER))
        for _ in range(3)
    ]
    marker = report("learner-marker", "child_safety", reporter=dict(TRUSTED_FLAGGER))
    messages = [keyed(r) for r in [*ordinary, marker]]
    asyncio.run(send_all(config.bootstrap, config.input_topic, messages))
    oncall_until_triggered(config, "learner-marker")
    text = worker.metrics_text()
    ratios = metric_samples(text, "spikewatch_learned_rate_ratio")
    assert {labels["lane"] for labels, _ in ratios} == {"active"}, "no shadow policy here"
    factor = POLICY.learning.max_factor
    assert {labels["category"] for labels, _ in ratios} == {c.value for c in Category}
    assert all(1 / factor <= value <= factor for _, value in ratios)
    partitions = {labels["partition"] for labels, _ in ratios}
    assert partitions
    assert partitions <= {str(p) for p in range(4)}
    dispersions = metric_samples(text, "spikewatch_learned_weight_dispersion")
    assert {labels["partition"] for labels, _ in dispersions} == partitions
    assert all(value >= 1 for _, value in dispersions)
    limits = metric_samples(text, "spikewatch_learned_rate_at_limit")
    assert len(limits) == len(ratios)
    assert {value for _, value in limits} <= {-1, 0, 1}


def test_malformed_messages_are_dead_lettered_and_valid_ones_around_them_still_count(
    worker: WorkerProcess,
) -> None:
    config = worker.config
    target = "after-garbage"
    malformed = [*list(MALFORMED_SAMPLES), b"x" * (70 * 1024)]
    valid_unkeyed = report(target, "child_safety", reporter=dict(TRUSTED_FLAGGER))
    before = [keyed(report("before-garbage", "spam"))]
    messages = [*before, *[(b"junk", m) for m in malformed], (None, orjson.dumps(valid_unkeyed))]
    asyncio.run(send_all(config.bootstrap, config.input_topic, messages))

    letters = asyncio.run(
        read_until(
            config.bootstrap,
            [config.dead_letter_topic],
            done=lambda records: len(records) >= len(malformed),
            within=60,
            settle=2.0,
        )
    )
    parsed = [DeadLetter.model_validate_json(r.value or b"") for r in letters]
    assert len(parsed) == len(malformed)
    assert sorted(base64.b64decode(d.payload_base64) for d in parsed) == sorted(malformed)
    assert all(d.source_topic == config.input_topic and d.detail for d in parsed)
    assert {d.reason for d in parsed} >= {
        DeadLetterReason.NOT_JSON,
        DeadLetterReason.NOT_UTF8,
        DeadLetterReason.NOT_AN_OBJECT,
        DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
        DeadLetterReason.BAD_TIMESTAMP,
        DeadLetterReason.MISSING_FIELD,
        DeadLetterReason.INVALID_FIELD,
        DeadLetterReason.TOO_LARGE,
    }
    assert all(r.key == b"junk" for r in letters)

    oncall = oncall_until_triggered(config, target)
    critical = escalations_of(oncall, target)
    assert [e.severity for _, e in critical] == [Severity.CRITICAL]
    assert critical[0][0].topic == f"{config.oncall_prefix}child-safety"

    metrics = worker.metrics_text()
    assert metric_value(metrics, "spikewatch_dead_letters_total") == len(malformed)
    assert metric_value(metrics, "spikewatch_reports_received_total", outcome="rerouted") >= 1


def test_restarted_worker_keeps_window_state(bootstrap: str, tmp_path: Path) -> None:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path)
    target = "restart-window"
    now = time.time()
    ordinary = dict(ORDINARY_VIEWER)  # weight 1 each: the floor of 5 is 5 reporters
    first_half = [
        report(target, "harassment", viewers=500, at=now, reporter=ordinary) for _ in range(4)
    ]
    second_half = [
        report(target, "harassment", viewers=500, at=now + 1, reporter=ordinary) for _ in range(3)
    ]
    pattern = f"^{config.oncall_prefix.replace('.', '[.]')}.*"

    first = WorkerProcess(config).start()
    try:
        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in first_half]))
        quiet = asyncio.run(
            read_until(bootstrap, None, pattern=pattern, done=lambda _: False, within=4)
        )
        assert escalations_of(quiet, target) == [], "4 reporters are below the floor of 5"
        assert (
            metric_value(
                first.metrics_text(), "spikewatch_reports_received_total", outcome="accepted"
            )
            == 4
        )
    finally:
        first.stop()

    second = WorkerProcess(config).start()
    try:
        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(r) for r in second_half]))
        records = asyncio.run(
            read_until(
                bootstrap,
                None,
                pattern=pattern,
                done=triggers_for(target),
                within=60,
                settle=2.0,
            )
        )
    finally:
        second.stop()
    found = escalations_of(records, target)
    assert [e.event_action for _, e in found] == [EventAction.TRIGGER]
    assert found[0][1].evidence.distinct_reporters == POLICY.spike.min_distinct_reporters, (
        "the 4 restored reporters plus the first new one reach the floor of 5; "
        "without the restored state the 3 new reporters alone could never trigger"
    )


def test_faust_command_line_runs_the_same_app_on_a_fresh_cluster(
    bootstrap: str, tmp_path: Path
) -> None:
    """``faust -A streams.worker.app worker`` keeps working, creating its topics itself."""
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path)
    target = "via-faust-cli"
    process = WorkerProcess(config, command=FAUST_WORKER).start()
    try:
        trusted = report(target, "child_safety", reporter=dict(TRUSTED_FLAGGER))
        asyncio.run(send_all(bootstrap, config.input_topic, [keyed(trusted)]))
        records = asyncio.run(
            read_until(
                bootstrap,
                None,
                pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
                done=triggers_for(target),
                within=60,
            )
        )
    finally:
        process.stop()
    found = [e.severity for _, e in escalations_of(records, target)]
    assert found == [Severity.CRITICAL], process.tail_log(60)


def test_decided_reports_are_committed_so_a_restart_does_not_read_them_again(
    worker: WorkerProcess,
) -> None:
    """Reports reach the pipeline a fetch at a time and are acknowledged by the batch
    handler, not by a Faust stream: the group's committed offsets must still reach
    the end of the topic, or every restart would decide the whole topic again."""
    config = worker.config
    messages = [keyed(report(f"commit-{n % 7}", "spam")) for n in range(300)]
    asyncio.run(send_all(config.bootstrap, config.input_topic, messages))

    async def uncommitted() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=config.bootstrap)
        await admin.start()
        await consumer.start()
        try:
            committed = await admin.list_consumer_group_offsets(f"{config.name}-app")
            (described,) = await admin.describe_topics([config.input_topic])
            ends = await consumer.end_offsets(
                [
                    TopicPartition(config.input_topic, p["partition"])
                    for p in described["partitions"]
                ]
            )
            assert ends, "the input topic has partitions"
            return sum(
                end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()
            )
        finally:
            await consumer.stop()
            await admin.close()

    deadline = time.monotonic() + 60
    left = asyncio.run(uncommitted())
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = asyncio.run(uncommitted())
    assert left == 0, f"{left} decided reports were never committed"


def read_oncall(config: WorkerConfig, done: Callable[[list[Record]], bool]) -> list[Record]:
    return asyncio.run(
        read_until(
            config.bootstrap,
            None,
            pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
            done=done,
            within=60,
            settle=4.0,
        )
    )


def test_one_device_clock_minutes_ahead_neither_moves_the_clock_nor_hides_the_surge(
    worker: WorkerProcess,
) -> None:
    """The first reporter's phone is 150 s fast: its report counts at broker time, the
    rest of the surge (correct clocks) counts too, and the surge pages once. Surges here
    are large for their audience: the module's worker has learned from the other tests."""
    config = worker.config
    target = "skewed-clock"
    before = metric_value(
        worker.metrics_text(),
        "spikewatch_report_clock_corrections_total",
        direction="ahead_of_record",
    )
    now = time.time()
    ordinary = dict(ORDINARY_VIEWER)
    surge = [report(target, "harassment", viewers=100, at=now + 150, reporter=ordinary)]
    surge += [
        report(target, "harassment", viewers=100, at=now - 5 + n * 0.2, reporter=ordinary)
        for n in range(1, 25)
    ]
    asyncio.run(send_all(config.bootstrap, config.input_topic, [keyed(r) for r in surge]))

    found = escalations_of(read_oncall(config, triggers_for(target)), target)
    triggers = [e for _, e in found if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1, [e.summary for _, e in found]
    assert triggers[0].evidence.distinct_reporters >= POLICY.spike.min_distinct_reporters
    assert triggers[0].evidence.window_end.timestamp() < now + 60, "the clock did not jump"
    after = metric_value(
        worker.metrics_text(),
        "spikewatch_report_clock_corrections_total",
        direction="ahead_of_record",
    )
    assert after - before == 1


def test_a_surge_whose_every_reporter_clock_runs_twenty_minutes_slow_pages_once(
    worker: WorkerProcess,
) -> None:
    """One app build stamping local time as UTC: every report says it was made twenty
    minutes ago, and reaches Kafka now. The wall-clock tick emptied such a broadcast's
    window every second, and its surge never paged; nor is it a backlog to hold back."""
    config = worker.config
    target = "slow-clocks"
    slow = time.time() - 1200
    ordinary = dict(ORDINARY_VIEWER)
    surge = [
        report(target, "harassment", viewers=100, at=slow + n * 0.2, reporter=ordinary)
        for n in range(24)
    ]
    asyncio.run(send_all(config.bootstrap, config.input_topic, [keyed(r) for r in surge]))

    found = escalations_of(read_oncall(config, triggers_for(target)), target)
    triggers = [e for _, e in found if e.event_action is EventAction.TRIGGER]
    assert [e.severity.pages for e in triggers] == [True], [e.summary for _, e in found]
    assert all(e.event_action is not EventAction.RESOLVE for _, e in found), "not resolved at once"


def test_a_surge_filed_under_several_categories_is_one_incident_naming_its_leader(
    worker: WorkerProcess,
) -> None:
    config = worker.config
    target = "cross-category"
    categories = ["violent_threat", "harassment", "hateful_conduct", "other"]
    surge = [
        report(target, categories[n % len(categories)], viewers=100, reporter=dict(ORDINARY_VIEWER))
        for n in range(24)
    ]
    asyncio.run(send_all(config.bootstrap, config.input_topic, [keyed(r) for r in surge]))

    records = read_oncall(config, triggers_for(target))
    found = escalations_of(records, target)
    triggers = [(r, e) for r, e in found if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1, [e.summary for _, e in found]
    record, trigger = triggers[0]
    assert trigger.labels.category is Category.VIOLENT_THREAT
    assert record.topic == f"{config.oncall_prefix}violence"
    assert {e.dedup_key for _, e in found} == {trigger.dedup_key}
    named = {c.category for c in trigger.evidence.categories}
    assert {Category.VIOLENT_THREAT, Category.HARASSMENT} <= named
    assert trigger.evidence.distinct_reporters == sum(
        c.distinct_reporters for c in trigger.evidence.categories
    )
