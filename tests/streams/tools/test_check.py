"""``spikewatch check``: each file a deployment loads, a line each, exit 1 on a problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerting.policy import DEFAULT_POLICY_PATH
from streams.cli import main

REPO = Path(__file__).resolve().parents[3]
COMPOSE_SINKS = REPO / "deploy" / "notify" / "compose-sinks.yaml"


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    return code, capsys.readouterr().out.splitlines()


PAGER_AT_WARNING = (
    "{name: pagerduty, type: pagerduty, min_severity: warning, "
    "routes: {violence: {routing_key_env: PD_KEY}}}"
)
ALERTMANAGER_SINK = "{name: alertmanager, type: alertmanager, url: 'http://127.0.0.1:9093'}"


def use_sinks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *sinks: str) -> Path:
    """A sinks file of these flow-style sink lines, named by the settings, its key set."""
    path = tmp_path / "sinks.yaml"
    path.write_text("version: 1\nsinks:\n" + "".join(f"  - {sink}\n" for sink in sinks))
    monkeypatch.setenv("SPIKEWATCH_NOTIFY_SINKS_FILE", str(path))
    monkeypatch.setenv("PD_KEY", "k" * 32)
    return path


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("problem")]


def policy_file(tmp_path: Path, name: str, **changes: object) -> Path:
    """The default policy with some dotted keys changed, written as ``name``."""
    document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    for dotted, value in changes.items():
        *sections, key = dotted.split(".")
        target = document
        for section in sections:
            target = target[section]
        target[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_default_settings_and_policy_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = check(capsys)
    assert code == 0, lines
    assert problems(lines) == []
    assert any(line.startswith("ok") and "default.yaml" in line for line in lines)
    assert any(line.startswith("skipped  sinks") for line in lines)


def test_a_bad_setting_is_one_problem_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIKEWATCH_WEB_PORT", "0")
    code, lines = check(capsys)
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith("problem  SPIKEWATCH_WEB_PORT:")


def test_a_bad_policy_is_a_problem_naming_its_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = policy_file(tmp_path, "bad.yaml", **{"spike.trigger_p_value": 2.0})
    code, lines = check(capsys, "--policy", str(bad))
    assert code == 1
    assert problems(lines) == [
        f"problem  policy file {bad}: spike.trigger_p_value: Input should be less than 1; "
        "fix the policy file and retry"
    ]
    assert lines[-1] == "skipped  sinks and --against: they are checked against the policy"


def test_sinks_that_leave_paged_teams_unserved_or_name_unknown_ones_are_problems(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    routes = ", ".join(
        f"{team}: {{routing_key_env: PD_KEY}}"
        for team in ("violence", "child-safety", "hate-harasment")
    )
    use_sinks(monkeypatch, tmp_path, f"{{name: pagerduty, type: pagerduty, routes: {{{routes}}}}}")
    code, lines = check(capsys)
    found = problems(lines)
    assert code == 1
    assert any("hate-harassment is paged at error and no sink delivers that" in p for p in found)
    assert any("sink pagerduty names team hate-harasment" in p for p in found)
    assert not any(" violence is paged" in p or "child-safety is paged" in p for p in found)


def test_a_pager_delivering_warnings_is_a_note_that_does_not_fail_the_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sinks = use_sinks(monkeypatch, tmp_path, PAGER_AT_WARNING, ALERTMANAGER_SINK)
    code, lines = check(capsys)
    notes = [line for line in lines if line.startswith("note")]
    assert code == 0, lines
    assert notes == [
        f"note     sinks file {sinks}: sink pagerduty is a pager and delivers warning and "
        "above, which page nobody elsewhere (held-back backlog incidents among them): set "
        "its min_severity to error unless the team wants those as PagerDuty incidents"
    ]


def test_a_sinks_file_whose_secret_is_missing_is_its_own_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sinks = use_sinks(
        monkeypatch,
        tmp_path,
        "{name: pd, type: pagerduty, routes: {violence: {routing_key_env: PD_KEY_NOT_SET}}}",
    )
    monkeypatch.delenv("PD_KEY_NOT_SET", raising=False)
    code, lines = check(capsys)
    assert code == 1
    assert problems(lines) == [
        f"problem  sinks file {sinks}: sinks.0.pagerduty.routes.violence: routing_key_env: "
        "environment variable PD_KEY_NOT_SET is not set; fix the sinks file and retry"
    ]


def test_the_compose_stacks_sinks_deliver_every_page(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIKEWATCH_NOTIFY_SINKS_FILE", str(COMPOSE_SINKS))
    code, lines = check(capsys)
    assert code == 0, lines
    assert any("every page the policy can send reaches a sink" in line for line in lines)


def test_a_shadow_policy_under_the_active_version_is_a_problem(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    candidate = policy_file(tmp_path, "candidate.yaml", **{"ramp.threshold": 11.0})
    monkeypatch.setenv("SPIKEWATCH_SHADOW_POLICY_FILE", str(candidate))
    code, lines = check(capsys)
    assert code == 1
    assert [p.split(":")[0] for p in problems(lines)] == [
        "problem  the shadow policy has the active policy's version (default-2026-12-07.2)"
    ]
    renamed = policy_file(
        tmp_path, "renamed.yaml", policy_version="candidate-1", **{"ramp.threshold": 11.0}
    )
    monkeypatch.setenv("SPIKEWATCH_SHADOW_POLICY_FILE", str(renamed))
    assert check(capsys)[0] == 0


def test_against_lists_the_figures_a_change_moves_and_wants_a_new_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    changes = {"ramp.threshold": 11.0, "spike.trigger_p_value": 1.0e-7}
    same_version = policy_file(tmp_path, "same.yaml", **changes)
    default = str(DEFAULT_POLICY_PATH)
    code, lines = check(capsys, "--policy", str(same_version), "--against", default)
    assert code == 1
    assert "2 figures changed under the same policy_version" in problems(lines)[0]
    assert [line.strip() for line in lines[-2:]] == [
        "ramp.threshold: 10.0 -> 11.0",
        "spike.trigger_p_value: 1e-06 -> 1e-07",
    ]
    versioned = policy_file(tmp_path, "versioned.yaml", policy_version="tuned-1", **changes)
    code, lines = check(capsys, "--policy", str(versioned), "--against", default)
    assert code == 0, lines
    assert any("2 figures changed (default-2026-12-07.2 -> tuned-1)" in line for line in lines)


def test_against_counts_one_figure_in_the_singular(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    one = policy_file(tmp_path, "one.yaml", policy_version="tuned-2", **{"ramp.threshold": 11.0})
    code, lines = check(capsys, "--policy", str(one), "--against", str(DEFAULT_POLICY_PATH))
    assert code == 0, lines
    assert any("1 figure changed (default-2026-12-07.2 -> tuned-2)" in line for line in lines)
