"""``spikewatch bench --tiny`` still runs end to end on the session's broker.

A smoke run only: it proves every phase produces its figures and the JSON keeps
its shape. The figures of a few thousand reports mean nothing, so nothing here
asserts on speed (benchmarks are not tests).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.bench.report import table

pytestmark = pytest.mark.kafka


def test_tiny_bench_produces_every_figure_and_the_json_keys(bootstrap: str) -> None:
    """Run ``--against`` this very checkout: the second worker is started from a checkout's
    own virtualenv, as it would be for an older commit's worktree."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "bench",
            "--tiny",
            "--json",
            "--bootstrap",
            bootstrap,
            "--against",
            str(Path(__file__).resolve().parents[2]),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints one object and nothing else on stdout"
    figures = orjson.loads(lines[0])

    for name in ("b0", "b1", "spikewatch", "other"):
        assert figures[name]["reports_per_second"] > 0
        assert figures[name]["cpu_us_per_report"] > 0
        assert len(figures[name]["runs"]) == figures["options"]["repeat"]
    for ratios in (figures["ratio_to_b1"], figures["cpu_ratio_to_b1"]):
        assert set(ratios) == {"b0", "b1", "spikewatch", "other"}
        assert ratios["b1"] == 1.0
    assert 0 < figures["changelog_writes_per_report"] <= 1, "at most one write per report"
    against = figures["against"]
    assert len(against["cpu_over_other_runs"]) == figures["options"]["repeat"]
    assert against["cpu_over_other"] > 0
    assert 0 < against["changelog_writes_per_report"] <= 1

    latency = figures["latency"]
    assert latency["escalations"] > 0, "injected reports must escalate"
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert len(latency["by_injection_ms"]) == latency["escalations"]
    assert max(latency["by_injection_ms"]) == round(latency["max_ms"], 1)
    assert latency["longest_gc_pause_at_most_s"] > 0, "the worker's own pause histogram"
    assert latency["state_write_p99_at_most_s"] > 0, "the worker's own state-write histogram"
    assert latency["scrape_every_s"] == 1.0
    assert latency["scrapes"] >= 2, "the phase reads /metrics as Prometheus would"
    assert latency["scrape_median_ms"] > 0

    state = figures["state"]
    assert state["broadcasts"] == figures["options"]["state_broadcasts"]
    assert state["peak_rss_bytes"] > 0
    assert state["restore_seconds"] > 0
    assert len(figures["targets"]) == 5
    assert all(target["met"] in (True, False) for target in figures["targets"].values())
    assert "ratio to B1" in table(figures)
    assert "/metrics scraped every 1 s" in table(figures)
