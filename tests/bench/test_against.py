"""``spikewatch bench --against``: the other checkout, checked up front, and the paired
figures it adds. The live run is in ``test_bench_smoke.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.bench.against import OTHER, Checkout, cpu_over_other, other_checkout
from streams.bench.baselines import Throughput
from streams.bench.measured import BenchError
from streams.bench.options import BenchOptions
from streams.bench.report import table
from streams.bench.summary import summarise
from streams.cli import main

REPOSITORY = Path(__file__).resolve().parents[2]


def test_a_checkout_without_its_virtualenv_is_refused_with_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"no \.venv there; run ./dev setup in that checkout"):
        other_checkout(str(tmp_path))


def test_a_directory_that_is_not_a_spikewatch_checkout_is_refused(tmp_path: Path) -> None:
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    with pytest.raises(BenchError, match="not a spikewatch checkout"):
        other_checkout(str(tmp_path))


def test_this_checkout_runs_its_worker_with_its_own_virtualenv() -> None:
    other = other_checkout(str(REPOSITORY))
    assert other.path == REPOSITORY
    assert other.worker_command == (
        str(REPOSITORY / ".venv" / "bin" / "python"),
        "-m",
        "streams.cli",
        "worker",
    )
    assert other.commit.split("+")[0] not in ("", "unknown")


def test_cpu_is_compared_repetition_by_repetition() -> None:
    ours = [Throughput(1_000.0, 30e-6), Throughput(1_000.0, 40e-6)]
    theirs = [Throughput(1_000.0, 20e-6), Throughput(1_000.0, 40e-6)]
    assert cpu_over_other(ours, theirs) == pytest.approx([1.5, 1.0])
    with pytest.raises(ValueError, match="shorter"):
        cpu_over_other(ours, theirs[:1])


def _measured(other_cpu: list[float]) -> dict[str, object]:
    def runs(cpu: list[float]) -> list[Throughput]:
        return [Throughput(10_000.0, seconds) for seconds in cpu]

    return {
        "throughput": {
            "runs": {
                "b0": runs([2e-6] * 3),
                "b1": runs([4e-6] * 3),
                "spikewatch": runs([30e-6, 33e-6, 36e-6]),
                OTHER: runs(other_cpu),
            },
            "changelog_writes": {"spikewatch": [38, 38, 38], OTHER: [31, 31, 31]},
            "fill_seconds": 1.0,
        },
        "latency": {
            "background_rate": 5_000.0,
            "achieved_rate": 5_000.0,
            "injections": 1,
            "escalations": 1,
            "p50_ms": 20.0,
            "p99_ms": 20.0,
            "max_ms": 20.0,
            "by_injection_ms": [20.0],
            "longest_gc_pause_at_most_s": 0.01,
            "state_write_p99_at_most_s": 0.05,
        },
        "state": {
            "broadcasts": 10,
            "peak_rss_bytes": 1 << 20,
            "restarted_peak_rss_bytes": 1 << 20,
            "restore_seconds": 1.0,
        },
    }


def test_the_figures_give_the_median_of_the_paired_ratios_and_the_table_shows_them() -> None:
    options = BenchOptions(reports=1_000, repeat=3, against="elsewhere")
    machine = {"cpus": 2, "cpu_model": "", "python": "3.11", "load_average_1m": 0.5}
    other = Checkout(REPOSITORY, "abc1234")
    figures = summarise(options, machine, _measured([24e-6, 33e-6, 24e-6]), other)

    against = figures["against"]
    assert against["commit"] == "abc1234"
    assert against["cpu_over_other_runs"] == pytest.approx([1.25, 1.0, 1.5])
    assert against["cpu_over_other"] == pytest.approx(1.25)
    assert against["changelog_writes_per_report"] == pytest.approx(0.031)
    assert figures[OTHER]["cpu_us_per_report"] == pytest.approx(24.0)
    text = table(figures)
    assert "--against worker (abc1234)" in text
    assert "over the --against worker's: 1.25" in text


def test_without_another_checkout_the_figures_have_no_comparison() -> None:
    measured = _measured([24e-6] * 3)
    throughput = measured["throughput"]
    assert isinstance(throughput, dict)
    del throughput["runs"][OTHER], throughput["changelog_writes"][OTHER]
    machine = {"cpus": 2, "cpu_model": "", "python": "3.11", "load_average_1m": 0.5}
    figures = summarise(BenchOptions(reports=1_000, repeat=3), machine, measured)
    assert "against" not in figures
    assert OTHER not in figures
    assert "--against" not in table(figures)


def test_counting_instructions_against_another_checkout_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "--instructions", "--against", str(REPOSITORY)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --instructions counts this checkout's code alone")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("scrapes", "said"),
    [
        ({}, "/metrics not scraped"),
        ({"scrape_every_s": 15.0, "scrapes": 0, "scrape_median_ms": None}, "no read fell"),
        ({"scrape_every_s": 1.0, "scrapes": 8, "scrape_median_ms": 12.5}, "median 12.5 ms"),
    ],
)
def test_the_table_says_how_the_metrics_page_was_read(
    scrapes: dict[str, object], said: str
) -> None:
    measured = _measured([24e-6] * 3)
    latency = measured["latency"]
    assert isinstance(latency, dict)
    latency.update(scrapes)
    machine = {"cpus": 2, "cpu_model": "", "python": "3.11", "load_average_1m": 0.5}
    options = BenchOptions(reports=1_000, repeat=3, against="elsewhere")
    figures = summarise(options, machine, measured, Checkout(REPOSITORY, "abc1234"))
    assert said in table(figures)
