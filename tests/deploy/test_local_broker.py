"""Tests for deploy/kafka/local_broker.py against a real Kafka 4.1.1 JVM.

The broker tests need Java 17+ and either cached jars or Maven plus network
(the first run fetches ~60 MB once into ~/.cache/spikewatch). They never skip:
CI must prove the broker runs, so a missing Java fails them.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped, unused-ignore]

from tests.support.broker import LOCAL_BROKER_SCRIPT as SCRIPT
from tests.support.broker import load_local_broker

lb = load_local_broker()


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text``: proves nothing was left behind,
    even a JVM the pidfile no longer knows about."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")  # auto-creates the topic
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    """Read from the beginning until ``expected`` values arrived; callers bound it
    with asyncio.wait_for."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < expected:
            batches = await consumer.getmany(timeout_ms=500)
            values += [msg.value for msgs in batches.values() for msg in msgs]
    finally:
        await consumer.stop()
    return values


def _consume_within(bootstrap: str, topic: str, expected: int, seconds: float) -> list[bytes]:
    return asyncio.run(asyncio.wait_for(_consume(bootstrap, topic, expected), seconds))


@pytest.mark.kafka
def test_start_produce_restart_keeps_data_and_stop_cleans_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    broker = lb.LocalBroker.on_free_ports(data_dir, heap="512m", timeout=120.0)
    topic = f"lb-test-{uuid.uuid4().hex[:8]}"
    value = b"survives-a-restart"
    try:
        broker.start()
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.is_running()

        meta = lb.wait_for_metadata("127.0.0.1", broker.port, 10.0)
        assert meta.cluster_id == broker.cluster_id
        assert [(b.node_id, b.port) for b in meta.brokers] == [(1, broker.port)]
        assert meta.controller_id in (1, -1)

        asyncio.run(_produce(broker.bootstrap, topic, value))
        assert _consume_within(broker.bootstrap, topic, 1, 30.0) == [value]

        first_pid = broker.pid
        cluster_id = broker.cluster_id
        broker.stop()
        assert not broker.pidfile.exists()
        assert not _processes_mentioning(str(data_dir))
        with pytest.raises(ConnectionRefusedError):
            lb.metadata_request("127.0.0.1", broker.port, timeout=1.0)

        broker.start()  # same data dir: must not re-format
        assert broker.pid != first_pid
        assert broker.cluster_id == cluster_id
        assert _consume_within(broker.bootstrap, topic, 1, 30.0) == [value]
    finally:
        broker.stop()
    assert not broker.pidfile.exists()
    assert not _processes_mentioning(str(data_dir))
    broker.stop()  # idempotent


@pytest.mark.kafka
def test_cli_start_status_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli"
    port, controller_port = lb.free_ports(2)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    ports = ["--port", str(port), "--controller-port", str(controller_port)]
    try:
        started = cli("start", *ports, "--heap", "512m", "--config", "num.partitions=2")
        assert started.returncode == 0, started.stderr
        assert (
            started.stdout.strip()
            .splitlines()[-1]
            .startswith(f"kafka ready on 127.0.0.1:{port} (pid ")
        )
        # The CLI process has exited; the detached broker must still answer.
        assert lb.wait_for_metadata("127.0.0.1", port, 10.0).brokers
        assert "num.partitions=2" in (data_dir / "server.properties").read_text()
        assert cli("status").returncode == 0
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("kafka stopped (pid ")
    assert cli("status").returncode == 1
    assert cli("stop").returncode == 0  # idempotent
    assert not _processes_mentioning(str(data_dir))
    wiped = cli("wipe")
    assert wiped.returncode == 0, wiped.stderr
    assert not data_dir.exists()


def _run_with_path(path_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(path_dir),
        "HOME": str(tmp_path),
        "SPIKEWATCH_CACHE_DIR": str(tmp_path / "empty-cache"),
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_missing_java_is_one_actionable_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = _run_with_path(empty, tmp_path, "start", "--data-dir", str(tmp_path / "k"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: java not found on PATH; install a Java 17+ JDK")
    assert result.stdout == ""
    assert not (tmp_path / "k").exists()


def test_missing_mvn_with_empty_cache_is_one_actionable_line(tmp_path: Path) -> None:
    only_java = tmp_path / "only-java"
    only_java.mkdir()
    java = os.path.realpath(shutil.which("java") or "java")
    (only_java / "java").symlink_to(java)
    result = _run_with_path(only_java, tmp_path, "fetch")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: mvn not found on PATH; install Maven")
