"""The command line's own behaviour: clear one-line errors, the schema check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_schema_check_passes_for_checked_in_schemas() -> None:
    assert main(["schema", "--check"]) == 0


def test_bad_policy_is_one_line_naming_the_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy_version: x\ncategories: {}\nspike: {trigger_p_value: 2}\n")
    result = run_cli("worker", env={**os.environ, "SPIKEWATCH_POLICY_FILE": str(policy)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "spike.trigger_p_value" in lines[0]
    assert lines[0].startswith("error: ")


def test_unreachable_kafka_is_one_actionable_line() -> None:
    env = {**os.environ, "SPIKEWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = run_cli("worker", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot reach Kafka"), result.stderr


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fly"])
    assert exit_info.value.code == 2
