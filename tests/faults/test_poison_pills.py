"""No poison pill: inputs and outputs at and past every size limit, on the real broker.

A worker is fed a ~1 MB report, reports just under and just over every limit
(the input limit, the dead letter's whole-payload edge, the broker's maximum),
a broadcast reported past the reporter cap in every category, and escalations
for two teams whose on-call topics refuse them: one whose ``max.message.bytes``
is too small from the start (refused before sending), one whose limit is
lowered while the worker runs (refused by the broker). It must keep running and
healthy, account for every input (accepted + late + dead-lettered = sent), and
lose no escalation (each is on its on-call topic or in the escalation
dead-letter topic).

Then a fatal error is injected (the state changelog's limit lowered below any
state): ``/healthz`` must turn unhealthy and the process exit with status 70
within seconds, and a restart must refuse to start with one line saying what to
fix, instead of crash-looping.

A topic the worker is not *authorised* to write is refused by ACLs in
``test_unauthorised_topic.py``, on a broker with an authorizer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import faust
import orjson
import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import MessageSizeTooLargeError

from alerting.limits import MAX_STATE_RECORD_BYTES, largest_state, largest_state_bytes
from alerting.policy import DEFAULT_POLICY_PATH, load_policy
from models.bounds import (
    DEFAULT_BROKER_MAX_MESSAGE_BYTES,
    DEFAULT_PRODUCER_MAX_REQUEST_BYTES,
    record_size,
    value_budget,
)
from models.dead_letter import DeadLetter, DeadLetterReason, fitted_dead_letter
from models.escalation import EventAction
from models.report import MAX_COMMENT_LENGTH, Category
from streams.kafka.changelog import ChangelogWriter
from streams.kafka.tables import bytes_table
from streams.kafka.topics import STATE_TABLE, STATE_TOPIC_CONFIG, TopicLayoutError, ensure_topics
from streams.settings import Settings
from streams.worker.faust_app import CRASH_EXIT_STATUS
from tests.support.faults import changelog_topic, record_figures, wait_for
from tests.support.kafka import Record, read_until, send_each
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import keyed, report

pytestmark = pytest.mark.kafka

CAP = 40
"""Reporter cap of the worker's policy: small, so a broadcast past it in every category
is a few hundred reports (the default cap's largest state is written by its own test)."""
INPUT_LIMIT = 64 * 1024
TIMESTAMP_MS = 1_764_700_000_000
"""A record timestamp of today's width (it is part of a dead letter's size)."""
TINY_TOPIC_BYTES = 600
"""Below any escalation's size."""


def capped_policy(path: Path) -> Path:
    policy = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    policy["window"]["max_reporters_per_category"] = CAP
    path.write_text(yaml.safe_dump(policy))
    return path


async def create_topic(bootstrap: str, name: str, config: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 4, 1, topic_configs=config)])
    finally:
        await admin.close()


async def set_topic_limit(bootstrap: str, name: str, max_message_bytes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        config = {"max.message.bytes": str(max_message_bytes)}
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, config)])
    finally:
        await admin.close()


def padded_report(broadcast_id: str, size: int) -> bytes:
    """A well-formed report JSON of exactly ``size`` bytes, its comment holding the padding."""
    payload = report(broadcast_id, comment="")
    base = len(orjson.dumps(payload))
    payload["comment"] = "x" * (size - base)
    encoded = orjson.dumps(payload)
    assert len(encoded) == size
    return encoded


def whole_payload_edge(topic: str, key: bytes, record_limit: int) -> int:
    """The largest payload whose dead letter keeps it whole under ``record_limit``."""
    low, high = 0, DEFAULT_BROKER_MAX_MESSAGE_BYTES
    while low < high:
        middle = (low + high + 1) // 2
        letter = fitted_dead_letter(
            reason=DeadLetterReason.TOO_LARGE,
            detail=f"message is {middle} bytes, limit is {INPUT_LIMIT}",
            source_topic=topic,
            source_partition=0,
            source_offset=0,
            source_timestamp_ms=TIMESTAMP_MS,
            payload=b"x" * middle,
            failed_at=datetime.now(tz=UTC),
            record_limit=record_limit,
            key=key,
        )
        if letter.payload_truncated:
            high = middle - 1
        else:
            low = middle
    return low


def malformed_inputs(topic: str) -> list[tuple[bytes, bytes, DeadLetterReason]]:
    """Reports at and past each limit, with the reason each must be dead-lettered for."""
    key = b"poison-size"
    broker_max = value_budget(DEFAULT_BROKER_MAX_MESSAGE_BYTES, key)
    edge = whole_payload_edge(topic, key, DEFAULT_PRODUCER_MAX_REQUEST_BYTES)
    too_large = [INPUT_LIMIT + 1, edge - 1, edge, edge + 1, 1_000_000, broker_max]
    inputs = [
        (key, padded_report("poison-size", size), DeadLetterReason.TOO_LARGE) for size in too_large
    ]
    inputs += [
        (key, padded_report("poison-size", INPUT_LIMIT), DeadLetterReason.INVALID_FIELD),
        (
            key,
            orjson.dumps(report("poison-size", comment="c" * (MAX_COMMENT_LENGTH + 1))),
            DeadLetterReason.INVALID_FIELD,
        ),
        (key, b"", DeadLetterReason.NOT_JSON),
    ]
    return inputs


def full_broadcast() -> list[tuple[bytes, bytes]]:
    """Small broadcasts, one per category, each reported by more distinct viewers than the cap
    (and ``poison-full`` past the cap in every category at once): every category's team paged,
    since a broadcast pages one team per incident (Escalation v2)."""
    now = time.time()
    return [
        keyed(
            report(broadcast, category.value, reporter_id=f"viewer-{number}", at=now, viewers=200)
        )
        for number in range(CAP + 10)
        for category in Category
        for broadcast in ("poison-full", f"poison-full-{category.value}")
    ]


def outcomes(worker: WorkerProcess) -> Counter[str]:
    text = worker.metrics_text()
    return Counter(
        {
            outcome: int(metric_value(text, "spikewatch_reports_received_total", outcome=outcome))
            for outcome in ("accepted", "late", "dead_lettered", "rerouted")
        }
    )


def read_all(bootstrap: str, topics: list[str], done_at: int, within: float = 60) -> list[Record]:
    return asyncio.run(
        read_until(bootstrap, topics, done=lambda rs: len(rs) >= done_at, within=within, settle=1.0)
    )


def test_the_largest_state_the_default_policy_allows_is_written_and_read_back(
    bootstrap: str,
) -> None:
    """At the limit, on the broker: every category at the default cap, every field at its widest."""
    policy = load_policy()
    settings = Settings(
        kafka_bootstrap=bootstrap,
        app_id=f"largest-{time.time_ns()}",
        input_topic=f"largest-{time.time_ns()}",
    )
    layout = asyncio.run(ensure_topics(settings, policy))
    topic = f"{settings.app_id}-broadcast-state-changelog"
    assert layout.limit(topic) == MAX_STATE_RECORD_BYTES
    window = policy.window
    state = largest_state(
        window.max_reporters_per_category, window.length_seconds, window.bucket_seconds
    )
    value = state.to_bytes()
    assert len(value) == largest_state_bytes(
        window.max_reporters_per_category, window.length_seconds, window.bucket_seconds
    )
    key = state.broadcast_id.encode()
    assert record_size(key, value) <= MAX_STATE_RECORD_BYTES

    async def write() -> None:
        """Through the worker's own changelog writer, as a batch's states are written."""
        app = faust.App(settings.app_id, broker="kafka://127.0.0.1:1", autodiscover=False)
        writer = ChangelogWriter(bootstrap, {})
        store = writer.store(bytes_table(app, STATE_TABLE, settings.topic_partitions))
        await writer.start()
        try:
            store[key] = value
            await writer.flush()
        finally:
            await writer.stop()

    asyncio.run(write())
    records = read_all(bootstrap, [topic], 1)
    assert [r.value for r in records] == [value]
    record_figures("largest_state", {"bytes": len(value), "limit": MAX_STATE_RECORD_BYTES})


def test_a_changelog_that_accepts_less_than_the_largest_state_stops_the_start(
    bootstrap: str,
) -> None:
    settings = Settings(
        kafka_bootstrap=bootstrap,
        app_id=f"small-{time.time_ns()}",
        input_topic=f"small-{time.time_ns()}",
    )
    topic = f"{settings.app_id}-broadcast-state-changelog"
    asyncio.run(
        create_topic(bootstrap, topic, {**STATE_TOPIC_CONFIG, "max.message.bytes": "1048588"})
    )
    with pytest.raises(
        TopicLayoutError, match=f"--entity-name {topic} --add-config max.message.bytes="
    ):
        asyncio.run(ensure_topics(settings, load_policy()))


def test_dead_letters_from_empty_to_the_broker_maximum_are_accepted_by_the_broker(
    bootstrap: str,
) -> None:
    """Each fitted dead letter is written; the same letter unfitted is refused at the top end."""
    topic = f"dlq-sizes-{time.time_ns()}"
    asyncio.run(create_topic(bootstrap, topic, {}))
    key = b"broadcast-1"
    edge = whole_payload_edge("in", key, DEFAULT_BROKER_MAX_MESSAGE_BYTES)
    sizes = [
        0,
        1,
        2,
        3,
        INPUT_LIMIT,
        edge - 1,
        edge,
        edge + 1,
        value_budget(DEFAULT_BROKER_MAX_MESSAGE_BYTES, key),
    ]
    letters = [
        fitted_dead_letter(
            reason=DeadLetterReason.TOO_LARGE,
            detail=f"message is {size} bytes, limit is {INPUT_LIMIT}",
            source_topic="in",
            source_partition=0,
            source_offset=0,
            source_timestamp_ms=TIMESTAMP_MS,
            payload=bytes(n % 251 for n in range(size)),
            failed_at=datetime.now(tz=UTC),
            record_limit=DEFAULT_BROKER_MAX_MESSAGE_BYTES,
            key=key,
        )
        for size in sizes
    ]
    asyncio.run(
        send_each(bootstrap, topic, [(key, letter.to_json_bytes(), []) for letter in letters])
    )
    written = [
        DeadLetter.model_validate_json(r.value or b"")
        for r in read_all(bootstrap, [topic], len(sizes))
    ]
    assert sorted(letter.payload_size for letter in written) == sorted(sizes)
    assert [letter.payload_truncated for letter in letters] == [size > edge for size in sizes]
    unfitted = letters[-1].model_copy(update={"payload_base64": "A" * (4 * sizes[-1] // 3)})
    with pytest.raises(MessageSizeTooLargeError):
        asyncio.run(send_each(bootstrap, topic, [(key, unfitted.to_json_bytes(), [])]))


def test_the_worker_survives_every_limit_and_loses_no_input_or_escalation(
    bootstrap: str, tmp_path: Path
) -> None:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path)
    escalation_dlq = f"{config.name}.escalations.dlq"
    config.extra_env.update(
        {
            "SPIKEWATCH_POLICY_FILE": str(capped_policy(tmp_path / "policy.yaml")),
            "SPIKEWATCH_MAX_MESSAGE_BYTES": str(INPUT_LIMIT),
            "SPIKEWATCH_ESCALATION_DEAD_LETTER_TOPIC": escalation_dlq,
        }
    )
    asyncio.run(
        create_topic(
            bootstrap,
            f"{config.oncall_prefix}content",
            {"max.message.bytes": str(TINY_TOPIC_BYTES)},
        )
    )
    worker = WorkerProcess(config).start()
    try:
        asyncio.run(
            set_topic_limit(bootstrap, f"{config.oncall_prefix}hate-harassment", TINY_TOPIC_BYTES)
        )
        malformed = malformed_inputs(config.input_topic)
        valid = [
            *full_broadcast(),
            keyed(report("poison-comment", comment="c" * MAX_COMMENT_LENGTH)),
        ]
        asyncio.run(
            send_each(
                bootstrap,
                config.input_topic,
                [(k, v, []) for k, v, _ in malformed] + [(k, v, []) for k, v in valid],
            )
        )
        sent = len(malformed) + len(valid)
        wait_for(lambda: sum(outcomes(worker).values()) >= sent, 120, "every input to be decided")
        final = outcomes(worker)
        health = worker.health()
        refused = metric_value(
            worker.metrics_text(), "spikewatch_output_refused_total", topic_kind="oncall"
        )
        alive = worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()

    letters = [
        DeadLetter.model_validate_json(r.value or b"")
        for r in read_all(bootstrap, [config.dead_letter_topic], len(malformed))
    ]
    oncall = asyncio.run(
        read_until(
            bootstrap,
            None,
            pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
            done=lambda _: False,
            within=5,
        )
    )
    dead_escalations = read_all(bootstrap, [escalation_dlq], 2, within=30)
    triggers_written = {
        orjson.loads(r.value or b"")["labels"]["category"]
        for r in oncall
        if orjson.loads(r.value or b"")["event_action"] == EventAction.TRIGGER.value
        and orjson.loads(r.value or b"")["labels"]["broadcast_id"].startswith("poison-full-")
    }
    triggers_kept = set()
    for record in dead_escalations:
        letter = DeadLetter.model_validate_json(record.value or b"")
        escalation = orjson.loads(base64.b64decode(letter.payload_base64))
        assert letter.reason is DeadLetterReason.OUTPUT_REFUSED
        assert not letter.payload_truncated
        if escalation["event_action"] == EventAction.TRIGGER.value and escalation["labels"][
            "broadcast_id"
        ].startswith("poison-full-"):
            triggers_kept.add(escalation["labels"]["category"])
    record_figures(
        "poison_pills",
        {
            "sent": sent,
            "outcomes": dict(final),
            "dead_letters": len(letters),
            "escalations_dead_lettered": len(dead_escalations),
            "refused_oncall": refused,
        },
    )
    assert alive, "the worker stopped"
    assert health is not None
    assert health["status"] == "ok"
    assert final["accepted"] + final["late"] + final["dead_lettered"] == sent
    assert final["dead_lettered"] == len(malformed)
    assert Counter(letter.reason for letter in letters) == Counter(
        reason for _, _, reason in malformed
    )
    by_size = {letter.payload_size: letter for letter in letters}
    for _, value, _ in malformed:
        letter = by_size[len(value)]
        assert letter.payload_sha256 == hashlib.sha256(value).hexdigest()
        assert value.startswith(base64.b64decode(letter.payload_base64))
    assert by_size[1_000_000].payload_truncated
    # every category's broadcast paged: on its topic, or kept with the reason
    assert triggers_written | triggers_kept == {c.value for c in Category}
    assert {"adult_content", "harassment"} <= triggers_kept
    assert refused >= 2


def test_a_fatal_error_fails_the_probe_and_ends_the_process_then_the_restart_says_why(
    bootstrap: str, tmp_path: Path
) -> None:
    config = WorkerConfig(
        bootstrap=bootstrap, run_dir=tmp_path, extra_env={"SPIKEWATCH_CRASH_EXIT_SECONDS": "3"}
    )
    worker = WorkerProcess(config).start()
    try:
        asyncio.run(set_topic_limit(bootstrap, changelog_topic(config), 200))
        asyncio.run(send_each(bootstrap, config.input_topic, [(*keyed(report("fatal-1")), [])]))
        unhealthy: list[object] = []

        def probe_failed() -> bool:
            health = worker.health()
            if health is None or health.get("status") != "ok":
                unhealthy.append(health)
                return True
            return False

        wait_for(probe_failed, 60, "/healthz to fail")
        assert worker.process is not None
        status = worker.process.wait(timeout=30)
    finally:
        worker.stop()
    assert status == CRASH_EXIT_STATUS
    assert any(line.get("event") == "worker_crashed" for line in worker.log_lines())
    restart = subprocess.run(
        list(WorkerProcess(config).command),
        env=config.env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert restart.returncode != 0
    assert (
        f"--entity-name {changelog_topic(config)}"
        in restart.stderr.decode() + restart.stdout.decode()
    )
