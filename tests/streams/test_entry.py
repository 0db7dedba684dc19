"""The console script turns a failed start into one line a person can act on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from streams import entry
from tests.support.stale_build import STALE, run_in, stale_tree

CONSOLE_SCRIPT = "import sys; from streams.entry import main; sys.exit(main())"


def test_a_stale_compiled_core_is_one_line_with_its_remedy(tmp_path: Path) -> None:
    tree = stale_tree(tmp_path, ("alerting", "models", "oncall", "streams"))

    result = run_in(tree, CONSOLE_SCRIPT)

    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {STALE}"


def test_a_missing_package_says_how_to_set_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "streams.cli", None)

    assert entry.main() == 2
    assert capsys.readouterr().err.strip().endswith(f"; {entry.SETUP_HINT}")
