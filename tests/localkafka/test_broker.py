"""``LocalBroker`` against a real Kafka 4.1.1 JVM: start, serve, restart with its data, stop clean.

Needs Java 17+ and the cached jars (or Maven plus network for the first fetch);
never skipped.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from localkafka import BrokerError, LocalBroker, metadata_request, wait_for_metadata
from tests.support.broker import processes_mentioning


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
    broker = LocalBroker.on_free_ports(data_dir, heap="512m", timeout=120.0)
    topic = f"lb-test-{uuid.uuid4().hex[:8]}"
    value = b"survives-a-restart"
    try:
        broker.start()
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.is_running()

        meta = wait_for_metadata("127.0.0.1", broker.port, 10.0)
        assert meta.cluster_id == broker.cluster_id
        assert [(b.node_id, b.port) for b in meta.brokers] == [(1, broker.port)]
        assert meta.controller_id in (1, -1)

        asyncio.run(_produce(broker.bootstrap, topic, value))
        assert _consume_within(broker.bootstrap, topic, 1, 30.0) == [value]

        first_pid = broker.pid
        cluster_id = broker.cluster_id
        broker.stop()
        assert not broker.pidfile.exists()
        assert not processes_mentioning(str(data_dir))
        with pytest.raises(ConnectionRefusedError):
            metadata_request("127.0.0.1", broker.port, timeout=1.0)

        broker.start()  # same data dir: must not re-format
        assert broker.pid != first_pid
        assert broker.cluster_id == cluster_id
        assert _consume_within(broker.bootstrap, topic, 1, 30.0) == [value]
    finally:
        broker.stop()
    assert not broker.pidfile.exists()
    assert not processes_mentioning(str(data_dir))
    broker.stop()  # idempotent


def test_a_busy_port_is_named_and_nothing_is_launched(tmp_path: Path) -> None:
    broker = LocalBroker.on_free_ports(tmp_path / "kafka")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", broker.controller_port))
        squatter.listen()
        with pytest.raises(BrokerError, match="is already in use") as caught:
            broker.start()
    assert str(caught.value) == (
        f"127.0.0.1:{broker.controller_port} is already in use; stop whatever listens there"
        " or pick another --controller-port"
    )
    assert broker.pid is None
    assert not broker.pidfile.exists()
    assert not broker.properties_path.exists()


def test_one_port_for_both_listeners_is_refused(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path / "kafka", port=19092, controller_port=19092)
    with pytest.raises(BrokerError, match="both 19092; pick two"):
        broker.start()
    assert not broker.data_dir.exists()
