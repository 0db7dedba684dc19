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

pytestmark = [pytest.mark.soak, pytest.mark.kafka, pytest.mark.timeout(1800)]


def test_twenty_minutes_of_traffic_leave_memory_flat_and_no_lag() -> None:
    """Judged after the soak's default warm-up (:func:`streams.tools.soak.warm_up_seconds`):
    until the windows have filled and the ramps' references have held their first
    buckets for their lag, state grows by design."""
    completed = subprocess.run(
        [sys.executable, "-m", "streams.cli", "soak", "--duration", "1200", "--rate", "300"],
        cwd=REPO_ROOT,
        check=False,
        timeout=1600,
    )
    summary = json.loads((RUN_DIR / "summary.json").read_text())
    assert completed.returncode == 0
    assert summary["final_lag_messages"] == 0
    assert summary["rss_growth_after_warm_up_bytes"] is not None
    assert summary["rss_growth_after_warm_up_bytes"] < 0.05 * summary["peak_rss_bytes"]
