"""The layer picture of docs/architecture.md stays true.

The contracts live in pyproject.toml (``[tool.importlinter]``): streams/ may import
oncall/, alerting/ and models/; each of those only the layers below it; and none of
the pure packages may import Kafka clients, HTTP, Prometheus or the logging set-up.
Running the linter here, rather than as one more step of ``./dev test``, means a
targeted ``pytest`` run catches a broken layer too.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def import_linter_config() -> dict[str, Any]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    config: dict[str, Any] = pyproject["tool"]["importlinter"]
    return config


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layers_name_every_installed_package() -> None:
    """A new top-level package must take its place in the picture before it ships."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    installed = {
        pattern.removesuffix("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    (layers,) = (
        contract["layers"]
        for contract in import_linter_config()["contracts"]
        if contract["type"] == "layers"
    )
    tools = {"localkafka"}  # stdlib-only, beside the layers: its own contract forbids them
    assert set(layers) | tools == installed
    assert set(import_linter_config()["root_packages"]) == installed
