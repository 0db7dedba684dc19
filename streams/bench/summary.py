"""The figures a benchmark run gives: medians, ratios to B1, the machine it ran on.

Kept apart from the phases (:mod:`streams.bench.run`) because ``notify-bench`` reports
its latencies and machine the same way, and the summary is tested without a broker.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from streams.bench import baselines
from streams.bench.against import OTHER, Checkout
from streams.bench.options import BenchOptions


def percentiles_ms(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ranked = sorted(latencies)

    def at(quantile: float) -> float:
        return ranked[min(len(ranked) - 1, int(quantile * len(ranked)))] * 1000

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": ranked[-1] * 1000}


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "load_average_1m": os.getloadavg()[0],
    }


def summarise(
    options: BenchOptions,
    started: dict[str, Any],
    measured: dict[str, Any],
    other: Checkout | None = None,
) -> dict[str, Any]:
    """Medians of every repetition; ``cpu_ratio_to_b1`` is B1's CPU per report over each's.

    With another checkout, ``against`` holds its commit and this worker's CPU per report
    over that worker's, repetition by repetition and their median.
    """
    runs: dict[str, list[baselines.Throughput]] = measured["throughput"]["runs"]
    writes: dict[str, list[int]] = measured["throughput"]["changelog_writes"]
    rates = {
        name: statistics.median(run.reports_per_second for run in done)
        for name, done in runs.items()
    }
    cpu = {
        name: statistics.median(run.cpu_seconds_per_report for run in done)
        for name, done in runs.items()
    }
    against = (
        None
        if other is None
        else other.figures(runs["spikewatch"], runs[OTHER], writes[OTHER], options.reports)
    )
    return {
        "options": {**asdict(options), "bootstrap": None},
        "machine": {**started, "load_average_1m_at_end": machine()["load_average_1m"]},
        **{
            name: {
                "reports_per_second": rates[name],
                "cpu_us_per_report": cpu[name] * 1e6,
                "runs": [run.reports_per_second for run in done],
                "cpu_us_per_report_runs": [run.cpu_seconds_per_report * 1e6 for run in done],
            }
            for name, done in runs.items()
        },
        "ratio_to_b1": {name: rate / rates["b1"] for name, rate in rates.items()},
        "cpu_ratio_to_b1": {name: cpu["b1"] / spent for name, spent in cpu.items()},
        "changelog_writes_per_report": statistics.median(writes["spikewatch"]) / options.reports,
        **({} if against is None else {"against": against}),
        "latency": measured["latency"],
        "state": measured["state"],
        "prefill_seconds": measured["throughput"]["fill_seconds"],
    }
