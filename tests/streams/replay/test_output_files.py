"""Cards, figures and calibrated policies are written where asked, or refused before the
reading starts."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.replay.scenarios.catalogue import build_scenario

SCENARIO = ["replay", "--scenario", "raids", "--seeds", "1", "--no-progress"]


def test_a_card_and_figures_go_into_directories_made_for_them(tmp_path: Path) -> None:
    card, figures = tmp_path / ".run" / "cards" / "c.json", tmp_path / ".run" / "f.md"
    assert main([*SCENARIO, "--card", str(card), "--markdown", str(figures)]) == 0
    assert orjson.loads(card.read_bytes())["raids"]["policy"]["abuse_incidents"] > 0
    assert figures.read_text(encoding="utf-8").startswith("Seeds 1, policy `")


@pytest.mark.parametrize("option", ["--card", "--markdown"])
def test_a_path_that_cannot_be_written_is_refused_before_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    assert main([*SCENARIO, option, str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot make {blocker} for the ")
    assert err.count("\n") == 1
    assert "raids: recall" not in err, "refused before replaying"


def test_calibrate_refuses_an_output_it_cannot_write_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], surge_log: Path
) -> None:
    log, blocker = surge_log, tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    assert main(["calibrate", str(log), "--output", str(blocker / "p.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot make {blocker} for the policy (")
    assert err.endswith("): choose another path\n")
    made = tmp_path / "policies" / "p.yaml"
    assert main(["calibrate", str(log), "--output", str(made)]) == 0
    assert "policy_version" in made.read_text(encoding="utf-8")


def test_produce_writes_a_log_into_a_directory_made_for_it_or_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "logs" / "surge.jsonl"
    assert main(["produce", "--scenario", "surge", "--seed", "3", "--out", str(log)]) == 0
    assert len(log.read_bytes().splitlines()) == len(build_scenario("surge", seed=3))
    capsys.readouterr()
    assert main(["produce", "--scenario", "surge", "--out", str(log / "x.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot make {log} for the log (")
    assert err.count("\n") == 1
