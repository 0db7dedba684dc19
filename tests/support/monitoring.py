"""Real Prometheus, Alertmanager and their tools (Debian packages) for tests.

Every server binds 127.0.0.1 on a free port with its storage in a temporary
directory, and is stopped by the test that started it. A missing binary fails
the test with the one line that fixes it: these tests never skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from localkafka import free_port
from tests.support.broker import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTMANAGER_CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"

_METRIC_NAME = re.compile(r"\bspikewatch(?::[a-z0-9_]+)+|\bspikewatch_[a-z0-9_]+")


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    if path is None:
        pytest.fail(
            f"{name} not found; run ./dev setup (it installs the Debian packages "
            "prometheus and prometheus-alertmanager)",
            pytrace=False,
        )
    return path


def run_tool(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(command[0]), *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def metric_names(promql: str) -> set[str]:
    """The spikewatch metric and recording-rule names a PromQL expression reads."""
    return set(_METRIC_NAME.findall(promql))


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def post_json(url: str, document: Any) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``condition()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except OSError as error:
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


class _Server:
    """A server process on a free loopback port, logging to a file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _start(self, command: list[str], ready_path: str, timeout: float) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, cwd=self.workdir)

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{command[0]} exited:\n{self.tail_log()}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_for(ready, timeout, f"{command[0]} on {self.url}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail_log(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class PrometheusServer(_Server):
    def start(self, config: dict[str, Any], timeout: float = 60.0) -> PrometheusServer:
        config_path = self.workdir / "prometheus.yml"
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path.write_text(yaml.safe_dump(config))
        self._start(
            [
                tool("prometheus"),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--enable-feature=exemplar-storage",
                "--storage.tsdb.retention.time=1h",
            ],
            "/-/ready",
            timeout,
        )
        return self

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        document = get_json(f"{self.url}/api/v1/{path}?{query}")
        assert document["status"] == "success", document
        return document["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def value(self, promql: str) -> float:
        """The sum of an instant query's samples (0 when it has none)."""
        return sum(float(sample["value"][1]) for sample in self.query(promql))


class AlertmanagerServer(_Server):
    def start(self, config_path: Path, timeout: float = 60.0) -> AlertmanagerServer:
        self._start(
            [
                tool("prometheus-alertmanager"),
                f"--config.file={config_path}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            "/-/ready",
            timeout,
        )
        return self


def exposed_names(exposition: str) -> set[str]:
    """Every series name a /metrics exposition declares, even families without samples yet."""
    names: set[str] = set()
    for line in exposition.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"]:
            name, kind = parts[2], parts[3]
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
            if kind == "info":
                names.add(f"{name}_info")
        elif parts and not line.startswith("#"):
            names.add(parts[0].split("{", 1)[0])
    return names


def recording_rule_names() -> set[str]:
    document = yaml.safe_load((PROMETHEUS_DIR / "rules" / "recording.yml").read_text())
    return {rule["record"] for group in document["groups"] for rule in group["rules"]}


def rule_expressions() -> dict[str, str]:
    """Every recording and alerting rule's expression, by rule name."""
    expressions: dict[str, str] = {}
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                expressions[rule.get("record") or rule["alert"]] = rule["expr"]
    return expressions
