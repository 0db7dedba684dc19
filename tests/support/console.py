"""Run a real ``spikewatch console`` process against the test broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.broker import REPO_ROOT, load_local_broker
from tests.support.worker import stop_process, tail_file

CONSOLE = (sys.executable, "-m", "streams.cli", "console")


class ConsoleProcess:
    """``env`` is the deployment's (a worker's) environment; host and port are the console's."""

    def __init__(self, env: dict[str, str], run_dir: Path, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = int(load_local_broker().free_port())
        self.env = {
            **env,
            "SPIKEWATCH_CONSOLE_HOST": host,
            "SPIKEWATCH_CONSOLE_PORT": str(self.port),
        }
        run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = run_dir / f"console-{host}-{time.time_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> ConsoleProcess:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            list(CONSOLE), cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"console exited early:\n{self.tail_log()}")
            if self.health() is not None:
                return self
            time.sleep(0.2)
        raise AssertionError(f"console not ready in {timeout} s:\n{self.tail_log()}")

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                document: dict[str, object] = json.loads(response.read())
                return document
        except (OSError, ValueError):
            return None

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text: str = response.read().decode()
            return text

    def stop(self) -> None:
        stop_process(self.process, timeout=20)

    def tail_log(self, lines: int = 40) -> str:
        return tail_file(self.log_path, lines)


def console_env(worker_env: dict[str, str], name: str) -> dict[str, str]:
    """The worker's deployment plus the console's own topics (named after the deployment)."""
    return {
        **worker_env,
        "SPIKEWATCH_VERDICT_TOPIC": f"{name}.verdicts",
        "SPIKEWATCH_CONSOLE_REPORT_URL_TEMPLATE": "https://reports.example/r/{report_id}",
        "PATH": os.environ.get("PATH", ""),
    }
