"""A team whose on-call topic the worker may not write: ACLs on a SASL broker.

The broker runs the standard authorizer with a SCRAM user for the worker; a DENY
WRITE ACL on one team's on-call topic makes the broker refuse every escalation
to it (``TopicAuthorizationFailed``). The worker must keep running, keep
paging the other teams, and keep the refused escalation in the escalation
dead-letter topic with the reason, counted as ``not_authorized``.

Everything else stays open to everybody (``allow.everyone.if.no.acl.found``),
and the plaintext listener the test itself uses is a super user, so the test
changes exactly one permission.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.admin import CreateAclsRequest

from localkafka import LocalBroker, free_port
from models.dead_letter import DeadLetter, DeadLetterReason
from tests.support.faults import record_figures, wait_for
from tests.support.kafka import read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import keyed, report

pytestmark = pytest.mark.kafka

USER, PASSWORD = "spikewatch-worker", "acl-Pa55word"
TOPIC, LITERAL, WRITE, DENY = 2, 3, 4, 2
"""Kafka's codes for the resource type, pattern type, operation and permission of an ACL."""


def sasl_port(broker: LocalBroker) -> int:
    return int(broker.config["listeners+"].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    port = free_port()
    broker = LocalBroker.on_free_ports(
        tmp_path_factory.mktemp("acl") / "kafka",
        heap="512m",
        timeout=120.0,
        scram=[f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"],
        config={
            "listeners+": f"SASL_PLAINTEXT://127.0.0.1:{port}",
            "advertised.listeners+": f"SASL_PLAINTEXT://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "true",
        },
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def deny_writes(bootstrap: str, topic: str) -> None:
    """Create ``topic`` and forbid the worker's user to write it (as the super user)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1)])
        response = await admin._send_request(  # aiokafka has no public ACL call yet
            CreateAclsRequest(TOPIC, topic, LITERAL, f"User:{USER}", "*", WRITE, DENY)
        )
        assert all(code == 0 for code, _ in response.creation_responses), response
    finally:
        await admin.close()


def test_an_unwritable_oncall_topic_never_stops_the_worker_and_loses_no_page(
    acl_broker: LocalBroker, tmp_path: Path
) -> None:
    password_file = tmp_path / "kafka-password"
    password_file.write_text(PASSWORD)
    plain = acl_broker.bootstrap
    config = WorkerConfig(bootstrap=f"127.0.0.1:{sasl_port(acl_broker)}", run_dir=tmp_path)
    escalation_dlq = f"{config.name}.escalations.dlq"
    config.extra_env.update(
        {
            "SPIKEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SPIKEWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "SPIKEWATCH_KAFKA_USERNAME": USER,
            "SPIKEWATCH_KAFKA_PASSWORD_FILE": str(password_file),
            "SPIKEWATCH_ESCALATION_DEAD_LETTER_TOPIC": escalation_dlq,
        }
    )
    denied = f"{config.oncall_prefix}hate-harassment"
    asyncio.run(deny_writes(plain, denied))
    worker = WorkerProcess(config).start(timeout=120)
    try:
        surges = [report("acl-harassed", "harassment", viewers=400) for _ in range(6)]
        surges += [report("acl-violent", "violent_threat", viewers=400) for _ in range(6)]
        asyncio.run(send_all(plain, config.input_topic, [keyed(p) for p in surges]))

        def refused() -> float:
            return metric_value(
                worker.metrics_text(),
                "spikewatch_output_refused_total",
                topic_kind="oncall",
                reason="not_authorized",
            )

        wait_for(lambda: refused() >= 1, 90, "the denied escalation to be refused")
        health = worker.health()
        alive = worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()
    kept = asyncio.run(read_until(plain, [escalation_dlq], done=lambda rs: len(rs) >= 1, within=30))
    paged = asyncio.run(
        read_until(
            plain,
            [f"{config.oncall_prefix}violence"],
            done=lambda rs: len(rs) >= 1,
            within=30,
        )
    )
    letters = [DeadLetter.model_validate_json(r.value or b"") for r in kept]
    escalations = [orjson.loads(base64.b64decode(letter.payload_base64)) for letter in letters]
    record_figures(
        "unauthorised_topic",
        {"refused_escalations": len(letters), "paged_elsewhere": len(paged)},
    )
    assert alive, "the worker stopped"
    assert health is not None
    assert health["status"] == "ok"
    assert letters
    assert all(letter.reason is DeadLetterReason.OUTPUT_REFUSED for letter in letters)
    assert all(letter.source_topic == denied for letter in letters)
    assert all("not_authorized" in letter.detail for letter in letters)
    assert {e["labels"]["broadcast_id"] for e in escalations} == {"acl-harassed"}
    assert {orjson.loads(r.value or b"")["labels"]["broadcast_id"] for r in paged} == {
        "acl-violent"
    }
