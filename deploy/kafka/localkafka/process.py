"""The running JVM, found through its pid file, and stopping it without hitting a stranger."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from localkafka.errors import BrokerError
from localkafka.properties import PROPERTIES_NAME

PIDFILE_NAME = "broker.pid"


def pid_alive(pid: int) -> bool:
    """True for a running process; zombies count as dead because they will never
    answer again (our own child stays a zombie until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        stat = ""
    if stat:
        return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    """A stale pidfile may name a pid that now belongs to an unrelated process; only
    signal it when its command line is our java + this data dir's properties."""
    if not pid_alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (not Linux): liveness is all we can check
    props = str(data_dir / PROPERTIES_NAME).encode()
    return b"kafka.Kafka" in args and props in args


def running_pid(data_dir: Path) -> int | None:
    """Pid of the broker serving ``data_dir``, or None (stale pidfiles are ignored)."""
    data_dir = Path(data_dir).resolve()
    try:
        pid = int((data_dir / PIDFILE_NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid, data_dir) else None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_broker(data_dir: Path, timeout: float = 30.0) -> int | None:
    """SIGTERM (controlled shutdown keeps the log clean), SIGKILL after ``timeout``.

    Idempotent: no pidfile or a dead process counts as stopped. Returns the pid
    that was stopped, or None if nothing was running.
    """
    data_dir = Path(data_dir).resolve()
    pidfile = data_dir / PIDFILE_NAME
    pid = running_pid(data_dir)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_gone(pid, 10.0):
                raise BrokerError(
                    f"kafka pid {pid} survived SIGKILL; check `ps -p {pid}` and kill it by hand"
                )
    pidfile.unlink(missing_ok=True)
    return pid
