"""The decision core and the wire models never import the Kafka, Faust or metrics stacks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("alerting", "models")
FORBIDDEN = frozenset({"faust", "aiokafka", "prometheus_client"})


def pure_sources() -> list[Path]:
    return sorted(path for package in PURE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def imported_top_level_names(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_purity_finds_the_core_sources() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in pure_sources()}
    assert {"alerting/engine.py", "alerting/window.py", "models/report.py"} <= names


@pytest.mark.parametrize(
    "source", pure_sources(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_purity_module_imports_no_kafka_faust_or_prometheus(source: Path) -> None:
    assert imported_top_level_names(source).isdisjoint(FORBIDDEN)


def test_purity_checker_detects_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import faust\n"
        "from aiokafka.structs import TopicPartition\n"
        "import importlib\n"
        "metrics = importlib.import_module('prometheus_client')\n"
        "from . import sibling\n",
        encoding="utf-8",
    )
    assert imported_top_level_names(sample) >= FORBIDDEN
