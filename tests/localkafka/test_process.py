"""Pid files and signals: only our own broker is ever signalled, and it does stop.

The processes here are stand-ins with a broker-like command line, because the
paths under test (a stale pid file, a process deaf to SIGTERM) cannot be made
to happen on demand with a real JVM; ``test_broker.py`` stops real ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localkafka import running_pid, stop_broker
from localkafka.process import PIDFILE_NAME, pid_alive
from localkafka.properties import PROPERTIES_NAME

IGNORE_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    " print('deaf', flush=True); time.sleep(120)"
)


@pytest.fixture
def broker_lookalike(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose argv carries ``kafka.Kafka`` and this data dir's properties,
    as the real broker's does, and which ignores SIGTERM."""
    data_dir = tmp_path.resolve()
    process = subprocess.Popen(
        [sys.executable, "-c", IGNORE_SIGTERM, "kafka.Kafka", str(data_dir / PROPERTIES_NAME)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"deaf\n"  # its SIGTERM handler is in place
    (data_dir / PIDFILE_NAME).write_text(f"{process.pid}\n")
    yield process
    process.kill()
    process.wait()
    process.stdout.close()


def test_a_pidfile_naming_some_other_process_is_ignored_and_removed(tmp_path: Path) -> None:
    (tmp_path / PIDFILE_NAME).write_text(f"{os.getpid()}\n")
    assert running_pid(tmp_path) is None
    assert stop_broker(tmp_path, timeout=1.0) is None
    assert not (tmp_path / PIDFILE_NAME).exists()
    assert pid_alive(os.getpid())


def test_a_broker_deaf_to_sigterm_is_killed_after_the_timeout(
    tmp_path: Path, broker_lookalike: subprocess.Popen[bytes]
) -> None:
    assert running_pid(tmp_path) == broker_lookalike.pid
    assert stop_broker(tmp_path, timeout=0.5) == broker_lookalike.pid
    assert broker_lookalike.wait(timeout=10) == -9
    assert not (tmp_path / PIDFILE_NAME).exists()


def test_an_unreaped_child_counts_as_dead() -> None:
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while pid_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pid_alive(child.pid)  # a zombie until the wait below
    assert child.wait(timeout=5) == 0
    assert not pid_alive(child.pid)
