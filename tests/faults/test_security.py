"""Kafka over SASL_SSL (SCRAM-SHA-512) on a real broker; no secret or personal data leaks.

The broker gets a SASL_SSL listener on 127.0.0.1 with a certificate the test
makes; the worker and the test's clients connect only through it, with the
password read from a file. Then the worker's log and metrics are searched for
the password, reporter ids and comments, and its web port's bind address is
read from the kernel's socket table.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from localkafka import LocalBroker, free_port
from streams.kafka.clients import follow_escalations
from streams.kafka.security import client_options, faust_credentials
from streams.settings import Settings
from tests.support.broker import REPO_ROOT
from tests.support.faults import record_figures, triggered
from tests.support.live_worker import WorkerConfig, WorkerProcess
from tests.support.reports import keyed, report
from tests.support.tls import TlsFiles, make_tls_files

USER, PASSWORD = "spikewatch-worker", "s3cret-Pa55word-never-logged"
REPORTER_ID, COMMENT = "reporter-personal-4711", "comment-personal-text-0815"


@dataclass
class SecureBroker:
    broker: LocalBroker
    sasl_ssl_port: int
    tls: TlsFiles

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_ssl_port}"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    root = tmp_path_factory.mktemp("secure")
    tls = make_tls_files(root / "tls")
    port = free_port()
    broker = LocalBroker.on_free_ports(
        root / "kafka",
        heap="512m",
        timeout=120.0,
        scram=[f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"],
        config={
            "listeners+": f"SASL_SSL://127.0.0.1:{port}",
            "advertised.listeners+": f"SASL_SSL://127.0.0.1:{port}",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(tls.keystore_p12),
            "ssl.keystore.password": tls.keystore_password,
            "ssl.key.password": tls.keystore_password,
        },
    )
    broker.start()
    try:
        yield SecureBroker(broker, port, tls)
    finally:
        broker.stop()


def secure_settings(secure: SecureBroker, password_file: Path) -> Settings:
    return Settings(
        kafka_bootstrap=secure.bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_username=USER,
        kafka_password_file=password_file,
        kafka_ca_file=secure.tls.ca_pem,
    )


class DefaultWebHostConfig(WorkerConfig):
    """Leaves SPIKEWATCH_WEB_HOST unset, to see what the default binds."""

    def env(self) -> dict[str, str]:
        env = super().env()
        del env["SPIKEWATCH_WEB_HOST"]
        return env


def listening_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on ``port``, from /proc/net/tcp and tcp6."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.kafka
def test_worker_runs_over_sasl_ssl_and_leaks_no_secret_or_personal_data(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    password_file = tmp_path / "kafka-password"
    password_file.write_text(PASSWORD + "\n")
    settings = secure_settings(secure_broker, password_file)
    config = DefaultWebHostConfig(
        bootstrap=secure_broker.bootstrap,
        run_dir=tmp_path,
        extra_env={
            "SPIKEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "SPIKEWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "SPIKEWATCH_KAFKA_USERNAME": USER,
            "SPIKEWATCH_KAFKA_PASSWORD_FILE": str(password_file),
            "SPIKEWATCH_KAFKA_CA_FILE": str(secure_broker.tls.ca_pem),
            "SPIKEWATCH_LOG_LEVEL": "debug",
        },
    )
    surge = [report("secure-surge", viewers=400, comment=COMMENT) for _ in range(6)]
    surge[0]["reporter_id"] = REPORTER_ID
    bad = report("secure-bad", comment=COMMENT, viewer_count=-1)
    bad["reporter_id"] = REPORTER_ID
    worker = WorkerProcess(config).start(timeout=120)
    try:
        bound = listening_addresses(config.web_port)
        asyncio.run(send_secure(settings, config.input_topic, [*surge, bad]))
        escalations = read_secure_escalations(settings, config)
        metrics = worker.metrics_text()
    finally:
        worker.stop()
    log = worker.log_path.read_text(errors="replace")
    record_figures(
        "security",
        {
            "protocol": "SASL_SSL",
            "mechanism": "SCRAM-SHA-512",
            "escalations_over_tls": len(escalations),
            "worker_log_lines_searched": len(log.splitlines()),
            "web_listen_addresses": sorted(bound),
        },
    )
    assert [e.labels.broadcast_id for e in escalations] == ["secure-surge"]
    assert bound == {"0100007F"}, "the default web host is 127.0.0.1 only"
    for secret in (PASSWORD, REPORTER_ID, COMMENT):
        assert secret not in log
        assert secret not in metrics
    assert "dead_lettered" in log, "the bad report was logged, without its content"


async def send_secure(settings: Settings, topic: str, payloads: list[dict[str, Any]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", **client_options(settings)
    )
    await producer.start()
    try:
        for key, value in (keyed(p) for p in payloads):
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def read_secure_escalations(settings: Settings, config: WorkerConfig) -> list[Any]:
    async def first_trigger() -> list[Any]:
        found = []
        async for _, escalation in follow_escalations(
            settings.kafka_bootstrap,
            config.oncall_prefix,
            from_beginning=True,
            **client_options(settings),
        ):
            found.append(escalation)
            if triggered({"secure-surge"})(found):
                return found
        return found

    return asyncio.run(asyncio.wait_for(first_trigger(), timeout=90))


@pytest.mark.kafka
def test_replay_and_calibrate_read_a_topic_over_sasl_ssl(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    """``spikewatch replay --topic`` and ``calibrate --topic`` honour the security settings,
    as produce and tail do (calibrate once read a topic with none of them)."""
    password_file = tmp_path / "kafka-password"
    password_file.write_text(PASSWORD + "\n")
    settings = secure_settings(secure_broker, password_file)
    topic = f"replay-secure-{uuid.uuid4().hex[:8]}"
    asyncio.run(
        send_secure(settings, topic, [report("replayed-surge", viewers=400) for _ in range(6)])
    )
    env = {
        **os.environ,
        "SPIKEWATCH_KAFKA_BOOTSTRAP": secure_broker.bootstrap,
        "SPIKEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SPIKEWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "SPIKEWATCH_KAFKA_USERNAME": USER,
        "SPIKEWATCH_KAFKA_PASSWORD_FILE": str(password_file),
        "SPIKEWATCH_KAFKA_CA_FILE": str(secure_broker.tls.ca_pem),
    }
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "replay", "--topic", topic, "--no-progress"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    escalations = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["labels"]["broadcast_id"] for e in escalations if e["event_action"] == "trigger"] == [
        "replayed-surge"
    ]
    assert PASSWORD.encode() not in result.stderr
    calibrated = subprocess.run(
        [sys.executable, "-m", "streams.cli", "calibrate", "--topic", topic, "--output", "-"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert calibrated.returncode == 0, calibrated.stderr.decode()[-2000:]
    told = calibrated.stderr.decode().splitlines()
    assert told[0] == "calibrated from 6 reports on 1 broadcasts"
    assert PASSWORD.encode() not in calibrated.stderr


@pytest.mark.kafka
def test_wrong_password_is_refused_by_the_broker(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    options = client_options(secure_settings(secure_broker, wrong))

    async def connect() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=secure_broker.bootstrap, **options)
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(KafkaError):
        asyncio.run(connect())


def test_sasl_without_credentials_is_refused_with_one_clear_line() -> None:
    with pytest.raises(ValidationError, match="SASL needs SPIKEWATCH_KAFKA_USERNAME"):
        Settings(kafka_security_protocol="SASL_SSL")


def test_bad_security_settings_stop_the_worker_with_one_line_and_no_secret(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "SPIKEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SPIKEWATCH_KAFKA_PASSWORD": PASSWORD,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("error: ")
    assert "SPIKEWATCH_KAFKA_USERNAME" in completed.stderr
    assert PASSWORD not in completed.stderr


def test_a_missing_ca_file_is_named_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="kafka_ca_file"):
        Settings(kafka_security_protocol="SSL", kafka_ca_file=tmp_path / "missing.pem")


def test_password_never_shows_in_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_username=USER, kafka_password=PASSWORD
    )
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())
    assert client_options(settings)["sasl_plain_password"] == PASSWORD
    credentials = faust_credentials(settings)
    assert credentials is not None
    assert PASSWORD not in repr(credentials)


def test_plaintext_needs_no_credentials() -> None:
    settings = Settings()
    assert client_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None
    assert settings.web_host == "127.0.0.1"
