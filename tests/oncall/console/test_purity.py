"""The console's view model stays pure: no HTTP, Kafka, Prometheus or shell imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerting.test_purity import FORBIDDEN, ROOT, imported_top_level_names

VIEW_MODEL = sorted((ROOT / "oncall" / "console").glob("*.py"))
SHELL_ONLY = FORBIDDEN | {"aiohttp", "jinja2", "streams"}


def test_the_view_model_sources_are_found() -> None:
    assert {path.name for path in VIEW_MODEL} >= {"incidents.py", "views.py", "access.py"}


@pytest.mark.parametrize("source", VIEW_MODEL, ids=lambda path: path.name)
def test_view_model_imports_nothing_of_the_shell(source: Path) -> None:
    assert imported_top_level_names(source).isdisjoint(SHELL_ONLY)
