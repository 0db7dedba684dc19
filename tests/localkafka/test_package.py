"""localkafka runs before the virtualenv exists, and an installed copy carries its files."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import localkafka
from tests.support.broker import REPO_ROOT

PACKAGE_DIR = Path(localkafka.__file__).parent


def test_the_package_imports_only_the_standard_library_and_itself() -> None:
    outside = set()
    for module in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in {"localkafka", "__future__"}:
                    outside.add(f"{module.name}: {name}")
    assert not outside


def test_every_file_beside_the_modules_is_declared_package_data() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    declared = set(pyproject["tool"]["setuptools"]["package-data"]["localkafka"])
    data = {
        path.name
        for path in PACKAGE_DIR.iterdir()
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    }
    assert data == declared


def test_the_installed_package_is_the_one_in_deploy() -> None:
    assert PACKAGE_DIR == REPO_ROOT / "deploy" / "kafka" / "localkafka"
