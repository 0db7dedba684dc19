"""The scorecard over seeds (``spikewatch replay --scenario``) and scoring escalations decided
elsewhere (``--escalations``)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.replay.figures import parse_seeds, scenario_names
from streams.replay.scenarios.catalogue import ScenarioError
from streams.replay.scenarios.confounders import CONFOUNDERS
from streams.replay.terminal import floored_percent


def test_seeds_are_ranges_and_lists() -> None:
    assert parse_seeds("1-3,7,9-10") == [1, 2, 3, 7, 9, 10]
    assert parse_seeds("5") == [5]
    with pytest.raises(ScenarioError, match="1-20"):
        parse_seeds("one")


def test_all_is_every_confounder_ending_with_their_mix() -> None:
    names = scenario_names("all")
    assert names == list(CONFOUNDERS)
    assert names[-1] == "real_world"
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        scenario_names("campaigns,nope")


def test_the_figures_command_writes_both_rules_tables_for_the_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markdown, card = tmp_path / "figures.md", tmp_path / "card.json"
    argv = ["replay", "--scenario", "campaigns", "--seeds", "1-2", "--no-progress"]
    assert main([*argv, "--markdown", str(markdown), "--card", str(card)]) == 0
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("Seeds 1-2, policy `")
    assert "| campaigns | policy | 100% (4/4) | 0 |" in text
    assert "|  | fixed 5/5 min |" in text
    assert "| campaigns paged, 0 | 0/12 | 12/12 |" in text
    figures = orjson.loads(card.read_bytes())
    assert figures["campaigns"]["policy"]["coordinated_incidents"] == 12
    assert figures["campaigns"]["fixed"]["campaigns_paged"] == 12
    open_row = next(line for line in text.splitlines() if "open after the abuse's" in line)
    assert open_row.endswith("| - |"), "the fixed rule opens no incident to resolve"
    assert figures["campaigns"]["policy"]["never_resolved"] == 0, "the drain resolves them all"
    median, longest = figures["campaigns"]["policy"]["open_after_abuse_seconds"]
    assert 0 < median <= longest
    assert "campaigns: recall 100% (4/4)" in capsys.readouterr().err
    floor_row = next(
        line
        for line in text.splitlines()
        if line.startswith("| surges delivered on time, median time until")
    )
    floor = figures["campaigns"]["policy"]["median_floor_seconds"]["surge"]
    assert 0 < floor <= figures["campaigns"]["policy"]["median_delay_seconds"]["surge"]
    assert floor_row.endswith(f"| {floor:.1f} s (spread across categories - s) | - |")
    assert cells(text, "| campaigns | policy |")[8] == f"{floor:.1f}", "its only surges"
    assert cells(text, "|  | fixed 5/5 min |")[8] == "", "the traffic's: given once"


def cells(markdown: str, row_start: str) -> list[str]:
    """The cells of the first row of ``markdown`` that starts with ``row_start``."""
    row = next(line for line in markdown.splitlines() if line.startswith(row_start))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_a_log_and_a_scenario_are_not_replayed_together(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", "some.jsonl", "--scenario", "campaigns"]) == 2
    assert "only one of them" in capsys.readouterr().err


def test_escalations_decided_elsewhere_are_scored_against_the_log(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], surge_log: Path
) -> None:
    log, escalations = surge_log, tmp_path / "escalations.jsonl"
    assert main(["replay", str(log), "--no-progress"]) == 0
    decided, _ = capsysbinary.readouterr()
    escalations.write_bytes(decided)
    assert main(["replay", str(log), "--escalations", str(escalations)]) == 0
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert "escalations: recall 100% (6/6)" in err.decode()
    escalations.write_bytes(b'{"schema_version": 1}\n')
    assert main(["replay", str(log), "--escalations", str(escalations)]) == 2
    assert "no Escalation v1 or v2" in capsysbinary.readouterr()[1].decode()
    missing = tmp_path / "missing.jsonl"
    assert main(["replay", str(log), "--escalations", str(missing)]) == 2
    assert f"cannot read escalations file {missing}" in capsysbinary.readouterr()[1].decode()


def test_the_figures_tables_never_round_a_missed_target_up_to_it() -> None:
    assert floored_percent(1296 / 1300) == "99%"
    assert floored_percent(1.0) == "100%"
    assert floored_percent(0.29) == "29%", "a share that is exact in decimal stays what it is"
