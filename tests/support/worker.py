"""Run a real ``spikewatch worker`` process against the test broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.broker import REPO_ROOT, load_local_broker


@dataclass
class WorkerConfig:
    """One isolated deployment on the shared broker: its own group, topics and ports."""

    bootstrap: str
    run_dir: Path
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    web_port: int = field(default_factory=lambda: int(load_local_broker().free_port()))
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


SPIKEWATCH_WORKER = (sys.executable, "-m", "streams.cli", "worker")
FAUST_WORKER = (sys.executable, "-m", "faust", "-A", "streams.worker.app", "worker", "-l", "info")


class WorkerProcess:
    def __init__(self, config: WorkerConfig, command: tuple[str, ...] = SPIKEWATCH_WORKER) -> None:
        self.config = config
        self.command = command
        self.log_path = config.run_dir / f"worker-{time.time_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> WorkerProcess:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            list(self.command),
            cwd=REPO_ROOT,
            env=self.config.env(),
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.tail_log()}")
            health = self.health()
            if health is not None and health.get("partitions"):
                return self
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout} s:\n{self.tail_log()}")

    def health(self) -> dict[str, object] | None:
        try:
            url = f"http://127.0.0.1:{self.config.web_port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:
                document: dict[str, object] = json.loads(response.read())
                return document
        except (OSError, ValueError):
            return None

    def metrics_text(self) -> str:
        url = f"http://127.0.0.1:{self.config.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text: str = response.read().decode()
            return text

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
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

    def log_lines(self) -> list[dict[str, object]]:
        parsed = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"unparsed": line})
        return parsed


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
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
        if all(pairs.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(value)
    return total
