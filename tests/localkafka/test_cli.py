"""The command line, run as people and ``./dev`` run it: ``python3 deploy/kafka/local_broker.py``.

The broker tests need Java 17+ and either cached jars or Maven plus network
(the first run fetches the jars once into ~/.cache/spikewatch). They never
skip: CI must prove the broker runs, so a missing Java fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localkafka import free_ports, wait_for_metadata
from tests.support.broker import LOCAL_BROKER_SCRIPT as SCRIPT
from tests.support.broker import REPO_ROOT, processes_mentioning


def run_without_site_packages(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """``-S`` leaves out every installed package, as before ``./dev setup`` made the
    virtualenv; only the standard library and the script's own folder remain."""
    return subprocess.run(
        [sys.executable, "-S", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=180,
        check=False,
    )


@pytest.mark.kafka
def test_cli_start_status_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli"
    port, controller_port = free_ports(2)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_without_site_packages(*args, "--data-dir", str(data_dir))

    ports = ["--port", str(port), "--controller-port", str(controller_port)]
    try:
        started = cli("start", *ports, "--heap", "512m", "--config", "num.partitions=2")
        assert started.returncode == 0, started.stderr
        assert (
            started.stdout.strip()
            .splitlines()[-1]
            .startswith(f"kafka ready on 127.0.0.1:{port} (pid ")
        )
        # The CLI process has exited; the detached broker must still answer.
        assert wait_for_metadata("127.0.0.1", port, 10.0).brokers
        assert "num.partitions=2" in (data_dir / "server.properties").read_text()
        status = cli("status")
        assert status.returncode == 0
        assert status.stdout.startswith(f"kafka running on 127.0.0.1:{port} (pid ")
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("kafka stopped (pid ")
    assert cli("status").returncode == 1
    assert cli("stop").returncode == 0  # idempotent
    assert not processes_mentioning(str(data_dir))
    wiped = cli("wipe")
    assert wiped.returncode == 0, wiped.stderr
    assert not data_dir.exists()


def test_runs_as_a_module_of_the_installed_package_with_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localkafka", "--help"],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: local_broker.py ")
    for command in ("fetch", "start", "stop", "status", "wipe"):
        assert command in result.stdout


def test_wipe_refuses_a_dir_it_did_not_write(tmp_path: Path) -> None:
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = run_without_site_packages("wipe", "--data-dir", str(foreign))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: refusing to delete {foreign}:")
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_a_malformed_config_pair_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = run_without_site_packages(
        "start", "--data-dir", str(tmp_path / "k"), "--config", "no-equals-sign"
    )
    assert result.returncode == 2
    assert "'no-equals-sign' is not KEY=VALUE" in result.stderr
    assert not (tmp_path / "k").exists()


def _run_with_path(path_dir: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(path_dir),
        "HOME": str(tmp_path),
        "SPIKEWATCH_CACHE_DIR": str(tmp_path / "empty-cache"),
    }
    return run_without_site_packages(*args, env=env, cwd=tmp_path)


def test_missing_java_is_one_actionable_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = _run_with_path(empty, tmp_path, "start", "--data-dir", str(tmp_path / "k"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: java not found on PATH; install a Java 17+ JDK")
    assert result.stdout == ""
    assert not (tmp_path / "k").exists()


def test_missing_mvn_with_empty_cache_is_one_actionable_line(tmp_path: Path) -> None:
    only_java = tmp_path / "only-java"
    only_java.mkdir()
    java = os.path.realpath(shutil.which("java") or "java")
    (only_java / "java").symlink_to(java)
    result = _run_with_path(only_java, tmp_path, "fetch")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: mvn not found on PATH; install Maven")
