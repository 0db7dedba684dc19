"""Fixtures shared by the replay tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.replay.scenarios.catalogue import build_scenario, write_jsonl


@pytest.fixture(scope="module")
def surge_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``surge`` scenario's log (seed 3), six labelled surges: written once a module."""
    log = tmp_path_factory.mktemp("surge") / "surge.jsonl"
    with log.open("wb") as sink:
        write_jsonl(build_scenario("surge", seed=3), sink)
    return log
