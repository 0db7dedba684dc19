"""Free loopback ports, and the busy-port check that tolerates TIME_WAIT like the JVM."""

from __future__ import annotations

import socket

from localkafka import free_port, free_ports
from localkafka.ports import port_in_use


def test_ports_picked_together_are_distinct_and_bindable() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
    assert 0 < free_port() < 65536


def test_a_listening_port_is_in_use_until_closed() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    assert port_in_use("127.0.0.1", port)
    listener.close()
    assert not port_in_use("127.0.0.1", port)
