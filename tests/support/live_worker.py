"""Run a real ``spikewatch worker`` process against the test broker."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from localkafka import free_port
from streams.tools.launch import SPIKEWATCH_WORKER, LaunchedWorker, WorkerLaunchError
from tests.support.broker import REPO_ROOT


@dataclass
class WorkerConfig:
    """One isolated deployment on the shared broker: its own group, topics and ports."""

    bootstrap: str
    run_dir: Path
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    web_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def input_topic(self) -> str:
        return f"{self.name}.reports"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.name}.reports.dlq"

    @property
    def oncall_prefix(self) -> str:
        return f"{self.name}.oncall."

    @property
    def ack_topic(self) -> str:
        return f"{self.name}.acks"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPIKEWATCH_KAFKA_BOOTSTRAP": self.bootstrap,
            "SPIKEWATCH_APP_ID": f"{self.name}-app",
            "SPIKEWATCH_INPUT_TOPIC": self.input_topic,
            "SPIKEWATCH_ONCALL_TOPIC_PREFIX": self.oncall_prefix,
            "SPIKEWATCH_ACK_TOPIC": self.ack_topic,
            "SPIKEWATCH_WEB_HOST": "127.0.0.1",
            "SPIKEWATCH_WEB_PORT": str(self.web_port),
            "SPIKEWATCH_DATA_DIR": str(self.run_dir / "data"),
            "SPIKEWATCH_TICK_INTERVAL_SECONDS": "0.5",
            **self.extra_env,
        }


FAUST_WORKER = (sys.executable, "-m", "faust", "-A", "streams.worker.app", "worker", "-l", "info")


class WorkerProcess:
    """A :class:`LaunchedWorker` for one test deployment; ``process`` is None until started."""

    def __init__(self, config: WorkerConfig, command: tuple[str, ...] = SPIKEWATCH_WORKER) -> None:
        self.config = config
        self.command = command
        self.log_path = config.run_dir / f"worker-{time.time_ns()}.log"
        self.launched: LaunchedWorker | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.launched.process if self.launched is not None else None

    def start(self, timeout: float = 180.0) -> WorkerProcess:
        self.launched = LaunchedWorker(
            self.config.env(),
            self.log_path,
            self.config.web_port,
            command=self.command,
            cwd=REPO_ROOT,
        )
        try:
            self.launched.wait_ready(within=timeout)
        except WorkerLaunchError as error:
            raise AssertionError(f"{error}:\n{self.tail_log()}") from error
        return self

    def health(self) -> dict[str, object] | None:
        return self.launched.health() if self.launched is not None else None

    def metrics_text(self) -> str:
        assert self.launched is not None, "start the worker first"
        return self.launched.metrics_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.launched is not None:
            self.launched.stop(sig, timeout)

    def tail_log(self, lines: int = 40) -> str:
        return self.launched.tail_log(lines) if self.launched is not None else "(no log)"

    def log_lines(self) -> list[dict[str, object]]:
        parsed = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"unparsed": line})
        return parsed


def metric_samples(metrics_text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of ``name`` on a metrics page, with its labels."""
    found = []
    for line in metrics_text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        pairs = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        found.append(({k: v.strip('"') for k, v in pairs.items()}, float(value)))
    return found


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return math.fsum(
        value
        for found, value in metric_samples(metrics_text, name)
        if all(found.get(k) == v for k, v in labels.items())
    )
