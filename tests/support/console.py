"""Run a real ``spikewatch console`` process against the test broker."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from localkafka import free_port
from streams.tools.launch import LaunchedWorker, WorkerLaunchError, answers
from tests.support.broker import REPO_ROOT

CONSOLE = (sys.executable, "-m", "streams.cli", "console")


class ConsoleProcess:
    """``env`` is the deployment's (a worker's) environment; host and port are the console's."""

    def __init__(self, env: dict[str, str], run_dir: Path, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.env = {
            **env,
            "SPIKEWATCH_CONSOLE_HOST": host,
            "SPIKEWATCH_CONSOLE_PORT": str(self.port),
        }
        self.log_path = run_dir / f"console-{host}-{time.time_ns()}.log"
        self.launched: LaunchedWorker | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> ConsoleProcess:
        self.launched = LaunchedWorker(
            self.env,
            self.log_path,
            self.port,
            command=CONSOLE,
            cwd=REPO_ROOT,
            ready_when=answers,
            host=self.host,
        )
        try:
            self.launched.wait_ready(within=timeout, poll=0.2)
        except WorkerLaunchError as error:
            raise AssertionError(f"{error}:\n{self.launched.tail_log()}") from error
        return self

    def health(self) -> dict[str, object] | None:
        return self.launched.health() if self.launched is not None else None

    def metrics_text(self) -> str:
        assert self.launched is not None, "start the console first"
        return self.launched.metrics_text()

    def stop(self) -> None:
        if self.launched is not None:
            self.launched.stop(timeout=20)

    def tail_log(self, lines: int = 40) -> str:
        return self.launched.tail_log(lines) if self.launched is not None else "(no log)"


def console_env(worker_env: dict[str, str], name: str) -> dict[str, str]:
    """The worker's deployment plus the console's own topics (named after the deployment)."""
    return {
        **worker_env,
        "SPIKEWATCH_VERDICT_TOPIC": f"{name}.verdicts",
        "SPIKEWATCH_CONSOLE_REPORT_URL_TEMPLATE": "https://reports.example/r/{report_id}",
        "PATH": os.environ.get("PATH", ""),
    }
