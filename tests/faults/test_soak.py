"""The soak run as a test: minutes of steady traffic, memory flat, lag drained.

Marked ``soak``: excluded from the default suite (see pyproject addopts); run it
with ``.venv/bin/pytest -m soak`` or watch it live with ``./dev soak``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streams.tools.soak import RUN_DIR
from tests.support.broker import REPO_ROOT

pytestmark = [pytest.mark.soak, pytest.mark.kafka, pytest.mark.timeout(1000)]


def test_ten_minutes_of_traffic_leave_memory_flat_and_no_lag() -> None:
    """Judged after the 400 s warm-up: until the 300 s windows (+60 s lateness) have
    filled, state grows by design."""
    completed = subprocess.run(
        [sys.executable, "-m", "streams.cli", "soak", "--duration", "600", "--rate", "300"],
        cwd=REPO_ROOT,
        check=False,
        timeout=900,
    )
    summary = json.loads((RUN_DIR / "summary.json").read_text())
    assert completed.returncode == 0
    assert summary["final_lag_messages"] == 0
    assert summary["rss_growth_after_warm_up_bytes"] is not None
    assert summary["rss_growth_after_warm_up_bytes"] < 0.05 * summary["peak_rss_bytes"]
