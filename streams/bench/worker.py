"""A real ``spikewatch worker`` process under test: start, watch, measure, stop.

The figures come from the worker's own ``/metrics`` and ``/healthz`` (what an
operator would see) and from ``/proc/<pid>/status`` for memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from models.errors import SpikewatchError

RECEIVED_METRIC = "spikewatch_reports_received"


class BenchError(SpikewatchError):
    """A phase could not be measured; the message names the log to read."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Deployment:
    """One worker deployment on the bench broker: its own group, topics and port."""

    bootstrap: str
    app_id: str
    input_topic: str
    web_port: int
    data_dir: Path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPIKEWATCH_KAFKA_BOOTSTRAP": self.bootstrap,
            "SPIKEWATCH_APP_ID": self.app_id,
            "SPIKEWATCH_INPUT_TOPIC": self.input_topic,
            "SPIKEWATCH_ONCALL_TOPIC_PREFIX": f"{self.app_id}.oncall.",
            "SPIKEWATCH_WEB_HOST": "127.0.0.1",
            "SPIKEWATCH_WEB_PORT": str(self.web_port),
            "SPIKEWATCH_DATA_DIR": str(self.data_dir),
        }


class BenchWorker:
    def __init__(self, deployment: Deployment, log_path: Path) -> None:
        self.deployment = deployment
        self.log_path = log_path
        self.started_at = time.monotonic()
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=deployment.env(),
            cwd=deployment.data_dir.parent,
            stdout=log,
            stderr=log,
        )
        log.close()

    def _get(self, path: str) -> bytes:
        url = f"http://127.0.0.1:{self.deployment.web_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body

    def health(self) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = json.loads(self._get("/healthz"))
        except (OSError, ValueError):
            return None
        return document

    def reports_received(self) -> float:
        text = self._get("/metrics").decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == RECEIVED_METRIC
            for sample in family.samples
            if sample.name == f"{RECEIVED_METRIC}_total"
        )

    async def wait_until(
        self, condition: Callable[[], bool], what: str, within: float, poll: float = 0.2
    ) -> float:
        """Poll ``condition`` (in a thread: it does HTTP); return the monotonic time it held.

        Async so that Ctrl-C cancels the wait at once and the bench can clean up.
        """
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the worker exited while waiting for {what}; see {self.log_path}")
            try:
                if await asyncio.to_thread(condition):
                    return time.monotonic()
            except OSError:
                pass
            await asyncio.sleep(poll)
        raise BenchError(f"no {what} within {within:.0f} s; see {self.log_path}")

    async def wait_ready(self, within: float = 120.0) -> float:
        def ready() -> bool:
            health = self.health()
            return bool(health and health.get("partitions"))

        return await self.wait_until(ready, "partition assignment", within)

    def cpu_seconds(self) -> float:
        """User + system CPU time the worker process has used so far."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self) -> int:
        """``VmHWM``: the most resident memory the process ever had."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise BenchError("no VmHWM in /proc status; peak RSS needs Linux")

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
