"""Replay of a live worker's input topic gives the live worker's escalations.

A real worker (with a shadow policy beside the active one) decides a mixed
burst of traffic; then ``streams.replay.session`` reads the same topic back and must
produce triggers with the very same event ids, classes, severities and teams.
All event times lie within the last minute, so no incident resolves during the
test and the comparison covers everything that was sent.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from alerting.policy import DEFAULT_POLICY_PATH, load_policy
from models.escalation import EscalationClass, EventAction
from models.escalation_v2 import EscalationV2, parse_escalation
from models.report import Category
from streams.cli import main
from streams.replay.session import Replay, TopicRange, topic_messages
from streams.replay.traffic import TrafficGenerator
from streams.settings import Settings
from streams.tools.produce import produce_scenario
from tests.support.kafka import read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value

pytestmark = pytest.mark.kafka

POLICY = load_policy()


def traffic(now: float) -> list[tuple[bytes, bytes]]:
    """A surge, a trusted child-safety report, a coordinated burst and benign reports."""
    generator = TrafficGenerator(broadcasts=40, rate_per_second=5.0, seed=5, prefix="lv")
    small, other, brigaded = generator.smallest(0), generator.smallest(1), generator.smallest(2)
    payloads: list[dict[str, Any]] = []
    start = now - 40
    for index in range(120):
        payloads.append(generator.background(start + index * 0.3))
    payloads += [generator.surge(small, Category.HARASSMENT, start + 5 + i) for i in range(8)]
    payloads.append(generator.trusted_report(other, Category.CHILD_SAFETY, start + 10))
    payloads += [
        generator.coordinated(brigaded, Category.HATEFUL_CONDUCT, start + 15 + i * 0.5)
        for i in range(20)
    ]
    payloads.sort(key=lambda payload: str(payload["reported_at"]))
    return [(p["broadcast_id"].encode(), orjson.dumps(p)) for p in payloads]


def fingerprint(escalation: EscalationV2) -> tuple[str, str, str, str, str]:
    return (
        escalation.event_id,
        escalation.dedup_key,
        escalation.escalation_class.value,
        escalation.severity.value,
        escalation.labels.team,
    )


def test_topic_replay_reproduces_the_live_triggers_and_shadow_stays_apart(
    bootstrap: str, tmp_path: Path
) -> None:
    document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    document["policy_version"] = "candidate-1"
    document["spike"]["min_distinct_reporters"] = 3
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(document), encoding="utf-8")
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=tmp_path,
        extra_env={"SPIKEWATCH_SHADOW_POLICY_FILE": str(candidate)},
    )
    config.extra_env["SPIKEWATCH_SHADOW_TOPIC"] = f"{config.name}.shadow"
    sent = traffic(time.time())
    worker = WorkerProcess(config).start()
    try:
        asyncio.run(send_all(bootstrap, config.input_topic, sent))
        expected_triggers = 3  # surge, child safety, coordinated burst
        records = asyncio.run(
            read_until(
                bootstrap,
                None,
                pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
                done=lambda found: len(found) >= expected_triggers,
                within=90,
                settle=3.0,
            )
        )
        shadow_records = asyncio.run(
            read_until(
                bootstrap,
                [f"{config.name}.shadow"],
                done=lambda found: len(found) >= expected_triggers,
                within=30,
            )
        )
        metrics = worker.metrics_text()
    finally:
        worker.stop()
    for lane in ("active", "shadow"):
        dispersion = "spikewatch_learned_weight_dispersion"
        assert metric_value(metrics, dispersion, lane=lane) >= 1.0, f"{lane} lane's learners"
    live = [parse_escalation(r.value or b"") for r in records]
    assert {e.escalation_class for e in live} == {
        EscalationClass.REPORT_SPIKE,
        EscalationClass.CRITICAL_REPORT,
        EscalationClass.COORDINATED_REPORTING,
    }
    assert all(e.event_action is EventAction.TRIGGER and not e.shadow for e in live)

    async def replay_topic() -> list[EscalationV2]:
        replay = Replay(POLICY, partitions=4, max_message_bytes=65536)
        async for message in topic_messages(bootstrap, TopicRange(config.input_topic)):
            replay.feed(message)
        return replay.result.escalations

    replayed = asyncio.run(replay_topic())
    assert sorted(map(fingerprint, replayed)) == sorted(map(fingerprint, live))
    for escalation in replayed:
        original = next(e for e in live if e.event_id == escalation.event_id)
        assert escalation.evidence == original.evidence
        assert escalation.starts_at == original.starts_at

    shadow = [parse_escalation(r.value or b"") for r in shadow_records]
    assert shadow
    assert all(e.shadow and e.policy_version == "candidate-1" for e in shadow)

    def incidents(found: list[EscalationV2]) -> set[tuple[str, str]]:
        return {(e.labels.broadcast_id, e.labels.category.value) for e in found}

    assert incidents(shadow) >= incidents(live)


def test_produce_scenario_sends_keyed_labelled_reports_ending_now_and_replay_scores_them(
    bootstrap: str, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"scenario-{time.time_ns()}"
    settings = Settings(kafka_bootstrap=bootstrap, input_topic=topic)
    started = time.time()
    assert produce_scenario(settings, "child_safety", seed=7, out=None) == 0
    records = asyncio.run(
        read_until(bootstrap, [topic], done=lambda found: len(found) >= 4, within=30, settle=1.0)
    )
    assert len(records) == 4
    for record in records:
        payload = orjson.loads(record.value or b"")
        assert record.key == payload["broadcast_id"].encode()
        assert payload["label"]["kind"] == "child_safety"
        assert payload["label"]["incident"] == payload["broadcast_id"]
        assert record.timestamp_ms == payload["kafka_timestamp_ms"]
        at = datetime.fromisoformat(payload["reported_at"]).timestamp()
        assert at <= time.time()
    newest = max(
        datetime.fromisoformat(orjson.loads(r.value or b"")["reported_at"]).timestamp()
        for r in records
    )
    assert newest >= started - 1

    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", bootstrap)
    capsysbinary.readouterr()
    assert main(["replay", "--topic", topic, "--from-offset", "0"]) == 0
    out, err = capsysbinary.readouterr()
    triggers = [
        e
        for e in map(EscalationV2.model_validate_json, out.splitlines())
        if e.event_action is EventAction.TRIGGER
    ]
    assert len(triggers) == 4
    assert all(e.escalation_class is EscalationClass.CRITICAL_REPORT for e in triggers)
    assert "recall 100% (4/4)" in err.decode()
