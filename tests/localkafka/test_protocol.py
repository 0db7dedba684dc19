"""The readiness probe on replies that are not a ready broker's.

A real broker's answer is checked in ``test_broker.py``; here a loopback server
sends what a half-started broker or some other service on the port might.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from localkafka import BrokerError, KafkaProtocolError, metadata_request, wait_for_metadata
from localkafka.ports import free_port

Reply = Callable[[socket.socket, int], None]


def _answer_each(listener: socket.socket, reply: Reply) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:  # the listener was closed: the test is over
            return
        with connection:
            (size,) = struct.unpack(">i", connection.recv(4, socket.MSG_WAITALL))
            request = connection.recv(size, socket.MSG_WAITALL)
            _api_key, _version, correlation_id = struct.unpack(">hhi", request[:8])
            reply(connection, correlation_id)


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], int]]:
    """Start a loopback server that answers every request with ``reply``; returns its port."""
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(reply: Reply) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        thread = threading.Thread(target=_answer_each, args=(listener, reply), daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
    for thread in threads:
        thread.join(timeout=5)


def _framed(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def test_a_reply_to_another_request_is_not_taken_for_kafka(
    serve: Callable[[Reply], int],
) -> None:
    port = serve(lambda conn, cid: conn.sendall(_framed(struct.pack(">ii", cid + 1, 0))))
    with pytest.raises(KafkaProtocolError, match=r"correlation id \d+ != \d+: not a Kafka reply"):
        metadata_request("127.0.0.1", port)


def test_a_connection_closed_mid_reply_is_a_protocol_error(
    serve: Callable[[Reply], int],
) -> None:
    port = serve(lambda conn, cid: conn.sendall(struct.pack(">i", 100) + b"\0\0"))
    with pytest.raises(KafkaProtocolError, match="closed the connection mid-response"):
        metadata_request("127.0.0.1", port)


def test_a_truncated_body_is_a_protocol_error(serve: Callable[[Reply], int]) -> None:
    body = struct.pack(">iii", 0, 0, 1)  # correlation id patched below, one broker, no fields

    def reply(conn: socket.socket, cid: int) -> None:
        conn.sendall(_framed(struct.pack(">i", cid) + body[4:]))

    with pytest.raises(KafkaProtocolError, match="truncated"):
        metadata_request("127.0.0.1", serve(reply))


def test_a_broker_without_live_brokers_is_not_ready_and_the_timeout_says_why(
    serve: Callable[[Reply], int],
) -> None:
    def no_brokers(conn: socket.socket, cid: int) -> None:
        # throttle 0, no brokers, null cluster id, controller -1, no topics
        conn.sendall(_framed(struct.pack(">iiihii", cid, 0, 0, -1, -1, 0)))

    port = serve(no_brokers)
    with pytest.raises(TimeoutError, match="lists no live brokers yet") as caught:
        wait_for_metadata("127.0.0.1", port, timeout=0.5)
    assert str(caught.value).startswith(f"no Kafka Metadata answer from 127.0.0.1:{port} within")


def test_waiting_stops_as_soon_as_the_process_died() -> None:
    with pytest.raises(BrokerError, match="kafka exited during startup"):
        wait_for_metadata("127.0.0.1", free_port(), timeout=60.0, alive=lambda: False)
