"""Loopback ports for brokers and workers that run side by side on one machine."""

from __future__ import annotations

import socket


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Pick ``count`` distinct free ports; all sockets stay open until every port is
    chosen, so the kernel cannot hand out the same one twice."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """One free port (racy by nature: bind it soon)."""
    return free_ports(1, host)[0]


def port_in_use(host: str, port: int) -> bool:
    """Bind-test with SO_REUSEADDR like the JVM does, so a port left in TIME_WAIT by a
    just-stopped broker is not reported as busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
