"""``spikewatch bench --instructions``: the workload callgrind counts, and reading its count.

The callgrind run itself needs valgrind, which the test environment does not install;
what it runs and how its output is read are tested here.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from alerting.policy import load_policy
from alerting.state_records import is_head_key, restore_state
from streams.bench.instructions import InstructionCount, count_instructions, totals, traffic, work
from streams.bench.measured import BenchError

CALLGRIND_OUTPUT = """version: 1
creator: callgrind-3.19.0
events: Ir
summary: 123456789
fn=(1) builtin_exec
0 5
totals: 123456789
"""


def test_the_workload_decides_and_stores_every_broadcast_it_sees() -> None:
    messages = traffic(600, 30)

    table = work(messages, 250, load_policy())

    assert len(messages) == 600
    heads = [value for key, value in table.items() if is_head_key(key)]
    assert 1 <= len(heads) <= 30
    assert all(restore_state(head, table.get).watermark is not None for head in heads)


def test_callgrind_totals_are_read() -> None:
    assert totals(CALLGRIND_OUTPUT) == 123_456_789


def test_an_output_without_totals_is_an_error() -> None:
    with pytest.raises(BenchError, match="no totals"):
        totals("version: 1\n")


def test_per_report_is_what_the_doubled_run_added() -> None:
    count = InstructionCount(1000, 10, 100, 3_000_000, 5_500_000)
    assert count.per_report == 2500


def test_without_valgrind_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(BenchError, match="apt-get install valgrind"):
        count_instructions(reports=10, broadcasts=2, fetch=10)


def test_the_traffic_is_the_same_from_run_to_run() -> None:
    first, second = traffic(50, 5), traffic(50, 5)
    assert [m.value for m in first] == [m.value for m in second]


def test_the_counted_run_pins_string_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashing decides how dictionaries probe: with a random seed the same work counts
    a couple of percent differently from run to run."""
    seen: list[dict[str, str]] = []

    def refuse(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        seen.append(options["env"])
        return subprocess.CompletedProcess(command, 1, "", "")

    monkeypatch.setattr("shutil.which", lambda _name: "/usr/bin/valgrind")
    monkeypatch.setattr("subprocess.run", refuse)
    with pytest.raises(BenchError, match="callgrind exited"):
        count_instructions(reports=10, broadcasts=2, fetch=10)
    assert seen[0]["PYTHONHASHSEED"] == "0"
