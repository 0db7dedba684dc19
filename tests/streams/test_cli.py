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
    assert lines[-1].startswith(
        "error: cannot reach Kafka at 127.0.0.1:1 (SPIKEWATCH_KAFKA_BOOTSTRAP)"
    ), result.stderr


@pytest.mark.parametrize(
    "command",
    [("tail",), ("replay", "--topic", "reports"), ("calibrate", "--topic", "reports")],
    ids=["tail", "replay", "calibrate"],
)
def test_a_client_that_cannot_connect_is_closed_before_the_error(command: tuple[str, ...]) -> None:
    """A Kafka client whose start failed still holds its connections: unstopped, Python
    warns "Unclosed AIOKafkaConsumer" with the object after the one line the person reads."""
    env = {**os.environ, "SPIKEWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = run_cli(*command, env=env)
    assert result.returncode == 2
    assert "Unclosed" not in result.stderr, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: cannot reach Kafka at 127.0.0.1:1")
    ), result.stderr


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fly"])
    assert exit_info.value.code == 2


def test_calibrate_warns_in_one_line_when_most_reporters_would_page_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A platform scoring every ordinary account 0.9: each of their child-safety reports
    would page a person at critical severity, which learning cannot see."""
    from alerting.policy import load_policy
    from tests.alerting.platform import Platform, platform_reports

    reports = platform_reports(load_policy(), Platform(scale=4.0, minutes=8, trust=0.9))
    log = tmp_path / "reports.jsonl"
    log.write_bytes(b"".join(r.model_dump_json().encode() + b"\n" for r in reports))

    assert main(["calibrate", str(log), "--output", str(tmp_path / "p.yaml")]) == 0

    credible, warning = capsys.readouterr().err.splitlines()[-2:]
    assert "(100.0%), trust median 0.90, 90th percentile 0.90" in credible
    assert warning.startswith("warning: over 10% of reports come from reporters credible")
    assert warning.endswith(
        "raise credible_report.min_trust above the 90th percentile before deploying this policy"
    )


def test_calibrate_writes_the_policy_with_the_logs_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alerting.policy import load_policy
    from models.report import Category
    from tests.alerting.platform import Platform, platform_reports

    policy = load_policy()
    log = tmp_path / "reports.jsonl"
    reports = platform_reports(policy, Platform(scale=4.0, minutes=8, broadcasts=60))
    lines = [r.model_dump_json().encode() + b"\n" for r in reports]
    log.write_bytes(b"".join(lines) + b"not a report\n")
    written = tmp_path / "calibrated.yaml"

    assert main(["calibrate", str(log), "--output", str(written)]) == 0

    told = capsys.readouterr().err.splitlines()
    broadcasts = len({r.broadcast_id for r in reports})
    assert told[0] == (
        f"calibrated from {len(reports):,} reports on {broadcasts:,} broadcasts; "
        "1 message was not a valid report and was skipped"
    )
    assert told[1] == f"wrote {written} (policy_version {policy.policy_version}-calibrated)"
    assert len(told) == 5 + len(Category)
    assert [line.split()[0] for line in told[3:-2]] == [c.value for c in Category]
    assert told[-2].split()[:3] == ["weight", "dispersion", "1"]
    assert told[-1].startswith(
        f"credible on trust alone (>= 0.8): 0 of {len(reports):,} scored reports"
    )

    calibrated = load_policy(written)
    harassment = calibrated.category(Category.HARASSMENT).base_rate_per_viewer_second
    assert (
        2.0 <= harassment / policy.category(Category.HARASSMENT).base_rate_per_viewer_second <= 8.0
    )
    assert calibrated.policy_version == f"{policy.policy_version}-calibrated"
