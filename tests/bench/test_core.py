"""``spikewatch bench --core``: the decision core timed in child processes, paired with
another checkout's."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from streams.bench.core import core_lines, core_run
from streams.bench.measured import BenchError
from streams.cli import main

REPOSITORY = Path(__file__).resolve().parents[2]


def test_a_checkout_without_the_workload_is_refused_with_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"has no streams/bench/instructions\.py.*--against"):
        core_run(Path(sys.executable), tmp_path, 10, 2, 8_000)


def test_a_run_that_fails_says_where_in_one_line(tmp_path: Path) -> None:
    workload = tmp_path / "streams" / "bench" / "instructions.py"
    workload.parent.mkdir(parents=True)
    workload.touch()
    with pytest.raises(BenchError, match=rf"the run in {tmp_path} failed: ImportError") as raised:
        core_run(Path(sys.executable), tmp_path, 10, 2, 8_000)
    assert "\n" not in str(raised.value)


def test_the_core_is_timed_and_weighed_pair_by_pair_against_a_checkout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = ["bench", "--core", "--reports", "400", "--broadcasts", "20", "--repeat", "2"]
    assert main([*command, "--against", str(REPOSITORY), "--json"]) == 0
    figures = orjson.loads(capsys.readouterr().out)

    assert figures["reports"] == 400
    assert len(figures["cpu_us_per_report_runs"]) == 2
    assert len(figures["other"]["cpu_us_per_report_runs"]) == 2
    assert figures["cpu_us_per_report"] > 0
    assert figures["live_bytes_per_broadcast"] > 1_000
    ratios = figures["cpu_us_per_report_over_other_runs"]
    mine, theirs = figures["cpu_us_per_report_runs"], figures["other"]["cpu_us_per_report_runs"]
    assert ratios == pytest.approx([a / b for a, b in zip(mine, theirs, strict=True)])
    assert figures["live_bytes_per_broadcast_over_other"] == pytest.approx(1.0, rel=0.05)
    lines = core_lines(figures)
    assert lines[-1].startswith("over --against: CPU ")
    assert f"{figures['other']['commit']} (--against)" in lines[2]


def test_core_and_instructions_together_are_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "--core", "--instructions"]) == 1
    err = capsys.readouterr().err
    assert "run one at a time" in err
    assert err.count("\n") == 1
