"""A real ``spikewatch worker`` process under test: start, watch, measure, stop.

The figures come from the worker's own ``/metrics`` and ``/healthz`` (what an
operator would see) and from ``/proc/<pid>/status`` for memory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from models.errors import SpikewatchError
from streams.tools.launch import SPIKEWATCH_WORKER, LaunchedWorker

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


class BenchWorker(LaunchedWorker):
    """A launched worker that also tells its CPU time, peak memory and reports received."""

    def __init__(
        self,
        deployment: Deployment,
        log_path: Path,
        command: Sequence[str] = SPIKEWATCH_WORKER,
    ) -> None:
        super().__init__(
            deployment.env(),
            log_path,
            deployment.web_port,
            command=command,
            cwd=deployment.data_dir.parent,
        )
        self.deployment = deployment
        self.started_at = time.monotonic()

    def reports_received(self) -> float:
        text = self.get("/metrics").decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == RECEIVED_METRIC
            for sample in family.samples
            if sample.name == f"{RECEIVED_METRIC}_total"
        )

    def histogram_bound(self, name: str, quantile: float) -> float | None:
        return histogram_bound(self.get("/metrics").decode(), name, quantile)

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


def histogram_bound(text: str, name: str, quantile: float) -> float | None:
    """The upper bound of the bucket that holds ``quantile`` of a histogram's observations,
    every label set together (``quantile=1``: the longest's bucket), from a ``/metrics``
    page; ``None`` before the first observation.

    A bound rather than an interpolated figure: a histogram only knows its buckets,
    and an operator reading the same metric on the board sees the same bound.
    """
    cumulative: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                cumulative[bound] = cumulative.get(bound, 0.0) + sample.value
    total = cumulative.get(math.inf, 0.0)
    if total == 0:
        return None
    return next(bound for bound in sorted(cumulative) if cumulative[bound] >= quantile * total)
