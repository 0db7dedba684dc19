"""The demo: its policy short enough to watch incidents resolve and valid as the worker
needs, and the demo run as the README gives it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from alerting.policy import load_policy
from localkafka import free_port
from localkafka.ports import port_in_use
from streams.tools.demo import DEMO_RESOLVE_SECONDS, REPO_ROOT, demo_policy


def test_the_demo_policy_resolves_within_the_demo_and_outlasts_its_window() -> None:
    policy = demo_policy()
    window, lifecycle = policy.window, policy.lifecycle

    assert lifecycle.resolve_after_quiet_seconds + window.allowed_lateness_seconds == (
        DEMO_RESOLVE_SECONDS
    )
    assert DEMO_RESOLVE_SECONDS < 60
    assert window.length_seconds <= DEMO_RESOLVE_SECONDS
    assert policy.categories == load_policy().categories


def _free_run(count: int) -> int:
    """The first of ``count`` consecutive free ports: the demo puts the broker's controller
    beside the broker and notify two above the worker."""
    while True:
        first = free_port()
        if not any(port_in_use("127.0.0.1", first + offset) for offset in range(1, count)):
            return first


@pytest.mark.timeout(360)
def test_the_demo_pages_what_it_announces_once_each_and_nothing_else() -> None:
    """The README's first command, as a person runs it (shortened): what it narrates must
    be what the worker does, or the front door shows a product that is not there."""
    ports = {
        "--kafka-port": _free_run(2),
        "--web-port": _free_run(3),
        "--console-port": free_port(),
        "--alertmanager-port": free_port(),
    }
    command = [sys.executable, "-m", "streams.cli", "demo", "--duration", "45"]
    for option, port in ports.items():
        command += [option, str(port)]
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=330, check=False
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    viral = _announced(r"viral broadcast (\S+) has", out)
    surged = _announced(r"report (\S+) \(\d+ viewers\) for harassment", out)
    flagged = _announced(r"one trusted flagger reports (\S+) for child safety", out)
    escalations = re.findall(r"(TRIGGER|UPDATE |RESOLVE) (\w+)\s+(\w+)\s+(\S+)\s+-> (\S+)", out)

    surge = ("error", "harassment", surged, "oncall.hate-harassment")
    child_safety = ("critical", "child_safety", flagged, "oncall.child-safety")
    assert sorted(escalations) == sorted(
        [
            (action, *incident)
            for action in ("TRIGGER", "RESOLVE")
            for incident in (surge, child_safety)
        ]
    ), out
    assert viral not in {broadcast for *_, broadcast, _ in escalations}
    assert "dead letters: 5 on broadcast-reports.dlq" in out, out
    assert "done: 2 resolve, 2 trigger" in out


def _announced(pattern: str, out: str) -> str:
    found = re.search(pattern, out)
    assert found is not None, f"the demo never said {pattern!r}:\n{out}"
    return found.group(1)
