"""``spikewatch replay --against CARD``: what a policy change moved since an earlier run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli import main
from streams.replay.comparison import LOG_RUN, Scored, comparison_lines, load_card
from streams.replay.session import ReplaySourceError

SCENARIO = ["replay", "--scenario", "campaigns", "--seeds", "1-2", "--no-progress"]


def test_a_changed_policy_names_the_scenario_the_figures_and_the_incidents_that_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card, deaf_card = tmp_path / "deployed.json", tmp_path / "deaf.json"
    assert main([*SCENARIO, "--card", str(card)]) == 0
    capsys.readouterr()
    assert main([*SCENARIO, "--against", str(card)]) == 0
    same = capsys.readouterr().err.splitlines()
    assert same[-1] == (
        f"against {card}: 1 of 1 unchanged; incidents paged 4 -> 4 of 4 (+0), "
        "false pages 0 -> 0 (+0)"
    ), "the same policy on the same seeds moves nothing"
    deaf = [*SCENARIO, "--set", "spike.min_distinct_reporters=100", "--set", "ramp.threshold=1000"]
    assert main([*deaf, "--card", str(deaf_card), "--against", str(card)]) == 0
    lines = capsys.readouterr().err.splitlines()
    surges = "surge-0 (seed 1), surge-0 (seed 2), surge-1 (seed 1), surge-1 (seed 2)"
    moved = next(line for line in lines if line.startswith("campaigns: recall 4 -> "))
    assert moved.startswith("campaigns: recall 4 -> 0 of 4; paged once 4 -> 0 of 4; ")
    assert f"; missed now: {surges}; median surge " in moved
    assert moved.endswith(" s -> none"), "no surge paged, no median"
    assert lines[-1] == (
        f"against {card}: 0 of 1 unchanged; incidents paged 4 -> 0 of 4 (-4), "
        "false pages 0 -> 0 (+0)"
    )
    assert main([*SCENARIO, "--against", str(deaf_card)]) == 0
    assert f"; paged now: {surges}; " in capsys.readouterr().err


def test_a_log_is_compared_with_the_card_of_the_same_log(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], surge_log: Path
) -> None:
    log, card, scenario_card = surge_log, tmp_path / "c.json", tmp_path / "s.json"
    assert main(["replay", str(log), "--no-progress", "--card", str(card)]) == 0
    capsysbinary.readouterr()
    deaf = ["--set", "spike.trigger_p_value=1e-30", "--against", str(card)]
    assert main(["replay", str(log), "--no-progress", *deaf]) == 0
    err = capsysbinary.readouterr()[1].decode()
    assert f"{LOG_RUN}: median surge " in err
    assert f"against {card}: 0 of 1 unchanged" in err
    assert main([*SCENARIO, "--card", str(scenario_card)]) == 0
    capsysbinary.readouterr()
    assert main(["replay", str(log), "--no-progress", "--against", str(scenario_card)]) == 0
    err = capsysbinary.readouterr()[1].decode()
    assert f"{LOG_RUN}: not in {scenario_card}" in err
    assert f"campaigns: in {scenario_card} only" in err


def figures(detected: int, false_pages: int, surge: float | None, incidents: int = 10) -> Any:
    return {
        "abuse_incidents": incidents,
        "detected": detected,
        "false_pages": false_pages,
        "incidents_paged_once": detected,
        "campaigns_paged": 0,
        "median_delay_seconds": {"surge": surge, "spread_surge": None},
    }


def test_only_what_moved_is_named_and_the_totals_add_up() -> None:
    before = {
        "a": Scored(figures(10, 0, 6.21), 100),
        "b": Scored(figures(9, 2, 7.0), 100),
        "c": Scored(figures(10, 0, None), 100),
    }
    after = {
        "a": Scored(figures(10, 0, 6.24), 100),
        "b": Scored(figures(8, 1, 7.0), 100),
        "c": Scored(figures(10, 0, 5.0), 100),
    }
    lines = comparison_lines(before, after, "old.json")
    assert lines == [
        "b: recall 9 -> 8 of 10; false pages 2 -> 1; paged once 9 -> 8 of 10",
        "c: median surge none -> 5.0 s",
        "against old.json: 1 of 3 unchanged; incidents paged 29 -> 28 of 30 (-1), "
        "false pages 2 -> 1 (-1)",
    ], "a's median moved by less than the scorecard prints"


def test_incidents_that_traded_places_are_named_though_the_recall_is_the_same() -> None:
    before = figures(8, 0, 6.0) | {"missed": ["x (seed 1)", "y (seed 2)"]}
    after = figures(8, 0, 6.0) | {"missed": ["x (seed 1)", "z (seed 3)"]}
    assert comparison_lines({"a": Scored(before, 1)}, {"a": Scored(after, 1)}, "old.json") == [
        "a: missed now: z (seed 3); paged now: y (seed 2)",
        "against old.json: 0 of 1 unchanged; incidents paged 8 -> 8 of 10 (+0), "
        "false pages 0 -> 0 (+0)",
    ]
    many = figures(2, 0, 6.0) | {"missed": [f"s{n} (seed 1)" for n in range(8)]}
    line = comparison_lines({"a": Scored(after, 1)}, {"a": Scored(many, 1)}, "old.json")[0]
    assert line.endswith(
        "missed now: s0 (seed 1), s1 (seed 1), s2 (seed 1), s3 (seed 1), "
        "s4 (seed 1) and 3 more; paged now: x (seed 1), z (seed 3)"
    )


def test_figures_of_other_traffic_are_not_compared() -> None:
    before = {"a": Scored(figures(10, 0, 6.0), 100), "b": Scored(figures(10, 0, 6.0), 100)}
    after = {"a": Scored(figures(10, 0, 6.0), 120), "b": Scored(figures(12, 0, 6.0, 12), 100)}
    assert comparison_lines(before, after, "old.json") == [
        "a: other traffic than in old.json (10 abuse incidents in 100 messages there, "
        "10 abuse incidents in 120 messages here): not compared",
        "b: other traffic than in old.json (10 abuse incidents in 100 messages there, "
        "12 abuse incidents in 100 messages here): not compared",
    ], "no totals over nothing compared"


def test_a_card_that_cannot_be_read_stops_the_command_before_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ReplaySourceError, match=r"cannot read card .*replay --card"):
        load_card(str(missing))
    not_json, not_a_card = tmp_path / "x.txt", tmp_path / "y.json"
    not_json.write_text("surge: 3\n")
    not_a_card.write_bytes(orjson.dumps({"campaigns": {"policy": {"detected": 3}}}))
    with pytest.raises(ReplaySourceError, match="is not JSON"):
        load_card(str(not_json))
    with pytest.raises(ReplaySourceError, match=r"no replay card .*'abuse_incidents'"):
        load_card(str(not_a_card))
    assert main([*SCENARIO, "--against", str(not_a_card)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "campaigns: recall" not in err, "refused before replaying"
