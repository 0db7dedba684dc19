"""Just enough of the Kafka wire protocol to know a broker can serve clients.

Hand-rolled on purpose: a TCP connect succeeds long before the broker can serve
clients, while a Metadata answer listing brokers means the KRaft broker is
unfenced and has opened its data plane. And this package must not depend on a
Kafka client library, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from localkafka.errors import BrokerError

# Metadata v4: plain (non-flexible) encoding, so no varints or tagged fields to
# parse, yet it reports cluster_id (v2+) and controller_id (v1+). Kafka 4.1.1
# answered every version v0..v13 when probed, so no ApiVersions round trip.
METADATA_API_KEY = 3
METADATA_VERSION = 4
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_correlation_ids = itertools.count(1)


class KafkaProtocolError(OSError):
    """A reply that is not a well-formed Metadata response.

    Subclasses OSError so the readiness loop treats it like any other transient
    network failure (a half-started broker may close or garble a connection).
    """


@dataclass(frozen=True)
class BrokerNode:
    """One broker entry of a Metadata response."""

    node_id: int
    host: str
    port: int
    rack: str | None


@dataclass(frozen=True)
class ClusterMetadata:
    """The parts of a Metadata response that prove the broker is usable."""

    correlation_id: int
    cluster_id: str | None
    controller_id: int
    brokers: tuple[BrokerNode, ...]


def _kafka_string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


class _Reader:
    """Cursor over a response body; short reads become KafkaProtocolError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise KafkaProtocolError(f"Metadata response truncated at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def int16(self) -> int:
        return int(struct.unpack(">h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self._take(4))[0])

    def nullable_string(self) -> str | None:
        size = self.int16()
        if size < 0:
            return None
        return self._take(size).decode("utf-8", errors="replace")

    def string(self) -> str:
        return self.nullable_string() or ""


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise KafkaProtocolError("broker closed the connection mid-response")
        buf += chunk
    return bytes(buf)


def metadata_request(
    host: str, port: int, timeout: float = 2.0, *, client_id: str = "spikewatch-local-broker"
) -> ClusterMetadata:
    """Send one Metadata v4 request and parse the answer."""
    correlation_id = next(_correlation_ids) & 0x7FFFFFFF
    # Request header v1: api_key, api_version, correlation_id, client_id.
    # Body v4: topics = null (all topics), allow_auto_topic_creation = false.
    payload = (
        struct.pack(">hhi", METADATA_API_KEY, METADATA_VERSION, correlation_id)
        + _kafka_string(client_id)
        + struct.pack(">i?", -1, False)
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 8 <= size <= MAX_RESPONSE_BYTES:
            raise KafkaProtocolError(f"implausible Metadata response size {size}")
        reader = _Reader(_recv_exact(sock, size))
    got = reader.int32()
    if got != correlation_id:
        raise KafkaProtocolError(f"correlation id {got} != {correlation_id}: not a Kafka reply")
    reader.int32()  # throttle_time_ms
    brokers = tuple(
        BrokerNode(
            node_id=reader.int32(),
            host=reader.string(),
            port=reader.int32(),
            rack=reader.nullable_string(),
        )
        for _ in range(max(reader.int32(), 0))
    )
    cluster_id = reader.nullable_string()
    controller_id = reader.int32()
    return ClusterMetadata(correlation_id, cluster_id, controller_id, brokers)


def wait_for_metadata(
    host: str,
    port: int,
    timeout: float = 60.0,
    *,
    cluster_id: str | None = None,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.2,
) -> ClusterMetadata:
    """Poll until the broker answers a Metadata request that lists at least one broker.

    ``cluster_id`` ignores answers from some other broker squatting on the port;
    ``alive`` aborts early (BrokerError) when the process we wait for has died,
    instead of burning the whole timeout. Raises TimeoutError otherwise.
    """
    deadline = time.monotonic() + timeout
    last_problem = "no attempt made"
    while True:
        remaining = deadline - time.monotonic()
        try:
            meta = metadata_request(host, port, timeout=max(0.1, min(2.0, remaining)))
        except OSError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if not meta.brokers:
                last_problem = "Metadata response lists no live brokers yet"
            elif cluster_id is not None and meta.cluster_id != cluster_id:
                last_problem = f"answer came from another cluster ({meta.cluster_id})"
            else:
                return meta
        if alive is not None and not alive():
            raise BrokerError("kafka exited during startup")
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"no Kafka Metadata answer from {host}:{port} within {timeout:g} s ({last_problem})"
            )
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
