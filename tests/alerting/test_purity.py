"""The pure packages never load the Kafka, Faust, HTTP, metrics or logging stacks by name.

Their static imports are import-linter's (the contracts in ``pyproject.toml``, run by
``tests/test_architecture.py``). What import-linter cannot see is a module imported by
a name given at run time (``importlib.import_module("faust")``, ``__import__``): this
test reads the sources for those.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pure_contract() -> dict[str, list[str]]:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    return next(c for c in contracts if c["name"].startswith("The pure packages"))


PURE_PACKAGES = tuple(_pure_contract()["source_modules"])
FORBIDDEN = frozenset(_pure_contract()["forbidden_modules"])


def pure_sources() -> list[Path]:
    return sorted(path for package in PURE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def imported_by_name(source: Path) -> set[str]:
    """Top-level names of the modules ``source`` imports by a constant string at run time."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    return {
        node.args[0].value.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        in ("import_module", "__import__")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_purity_reads_every_pure_package() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in pure_sources()}
    assert {"alerting/engine.py", "models/report.py", "oncall/timelines.py"} <= names


@pytest.mark.parametrize(
    "source", pure_sources(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_purity_module_loads_no_shell_library_by_name(source: Path) -> None:
    assert imported_by_name(source).isdisjoint(FORBIDDEN)


def test_purity_checker_finds_imports_by_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\n"
        "import faust\n"
        "metrics = importlib.import_module('prometheus_client')\n"
        "kafka = __import__('aiokafka.structs')\n",
        encoding="utf-8",
    )
    assert imported_by_name(sample) == {"prometheus_client", "aiokafka"}
