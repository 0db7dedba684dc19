"""Start a spikewatch process (a worker, the console) and wait until it is ready.

The demo, the soak, the benchmark and the live tests all run real processes;
this is the one way they start, probe and stop them. A worker is ready when
``/healthz`` lists at least one owned partition: before that it may be up but
has not yet joined its group, and traffic sent then only measures the
rebalance. Other services are ready when ``/healthz`` answers.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from models.errors import SpikewatchError

SPIKEWATCH_WORKER = (sys.executable, "-m", "streams.cli", "worker")


def owns_partitions(health: dict[str, Any]) -> bool:
    return bool(health.get("partitions"))


def answers(_health: dict[str, Any]) -> bool:
    return True


class WorkerLaunchError(SpikewatchError):
    """The process exited or never became ready; the message names its log."""


class LaunchedWorker:
    """A process serving ``/healthz`` on ``host:web_port``, its output appended to ``log_path``."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        web_port: int,
        *,
        command: Sequence[str] = SPIKEWATCH_WORKER,
        cwd: Path | None = None,
        ready_when: Callable[[dict[str, Any]], bool] = owns_partitions,
        host: str = "127.0.0.1",
    ) -> None:
        self.log_path = log_path
        self.web_port = web_port
        self.host = host
        self._ready_when = ready_when
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(command), env=dict(env), cwd=cwd, stdout=log, stderr=log
            )

    def get(self, path: str, timeout: float = 5.0, accept: str | None = None) -> bytes:
        request = urllib.request.Request(f"http://{self.host}:{self.web_port}{path}")
        if accept is not None:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http:)
            body: bytes = response.read()
            return body

    def health(self) -> dict[str, Any] | None:
        """The ``/healthz`` document, or None while the worker does not answer."""
        try:
            document: dict[str, Any] = json.loads(self.get("/healthz", timeout=1.0))
        except (OSError, ValueError):
            return None
        return document

    def is_ready(self) -> bool:
        health = self.health()
        return health is not None and self._ready_when(health)

    def metrics_text(self) -> str:
        return self.get("/metrics").decode()

    def wait_ready(self, within: float = 120.0, poll: float = 0.3) -> None:
        """Block until ready; for callers without an event loop (tests, the soak)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self._check_running("readiness")
            if self.is_ready():
                return
            time.sleep(poll)
        raise WorkerLaunchError(f"not ready within {within:.0f} s; {self._see()}")

    async def wait_until(
        self, condition: Callable[[], bool], what: str, within: float, poll: float = 0.2
    ) -> float:
        """Poll ``condition`` (in a thread: it does HTTP); return the monotonic time it held.

        Async so that Ctrl-C cancels the wait at once and the caller can clean up.
        """
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self._check_running(what)
            try:
                if await asyncio.to_thread(condition):
                    return time.monotonic()
            except OSError:
                pass
            await asyncio.sleep(poll)
        raise WorkerLaunchError(f"no {what} within {within:.0f} s; {self._see()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """SIGTERM first, so the worker leaves its group cleanly; kill only if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail_log(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _check_running(self, what: str) -> None:
        if self.process.poll() is not None:
            raise WorkerLaunchError(f"the process exited while waiting for {what}; {self._see()}")

    def _see(self) -> str:
        return f"see {self.log_path}"
