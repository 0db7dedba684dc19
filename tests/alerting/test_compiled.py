"""The core is compiled when built so, and a compiled module never outlives its source."""

from __future__ import annotations

import importlib
import json
import os
import tomllib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from alerting import compiled
from alerting.compiled import COMPILED_MODULES, build_record, stale_build_reason
from tests.support.stale_build import STALE, run_in, stale_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILT_PURE = os.environ.get("SPIKEWATCH_PURE_PYTHON") == "1"


@pytest.mark.parametrize("module", COMPILED_MODULES)
def test_compiled_core_module_is_the_extension_unless_built_pure(module: str) -> None:
    """A build that silently fell back to Python (no compiler, a mypyc error) fails here."""
    path = importlib.import_module(f"alerting.{module}").__file__
    assert path is not None
    if BUILT_PURE:
        assert path.endswith(".py")
    else:
        assert path.endswith(tuple(EXTENSION_SUFFIXES)), f"{path} is not compiled"


def test_compiled_guard_itself_stays_python() -> None:
    """It must run before any compiled module is loaded, so it is never compiled."""
    assert compiled.__file__ is not None
    assert compiled.__file__.endswith("compiled.py")
    assert "compiled" not in COMPILED_MODULES


def fake_build(root: Path, modules: tuple[str, ...] = ("window",)) -> Path:
    """A source tree with ``modules`` 'compiled' (a placeholder file) and a build record."""
    package = root / "alerting"
    package.mkdir()
    (root / "models").mkdir()
    (root / "models" / "report.py").write_text("SCHEMA = 1\n", encoding="utf-8")
    for module in ("window", "engine"):
        (package / f"{module}.py").write_text(f"NAME = {module!r}\n", encoding="utf-8")
    for module in modules:
        (package / f"{module}{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    (package / compiled.BUILD_RECORD).write_text(json.dumps(build_record(root)), encoding="utf-8")
    return package


def test_guard_accepts_a_build_that_matches_its_sources(tmp_path: Path) -> None:
    assert stale_build_reason(fake_build(tmp_path)) is None


def test_guard_ignores_a_pure_python_install(tmp_path: Path) -> None:
    package = fake_build(tmp_path, modules=())
    (package / compiled.BUILD_RECORD).unlink()
    (package / "window.py").write_text("NAME = 'edited'\n", encoding="utf-8")
    assert stale_build_reason(package) is None


def test_guard_refuses_a_compiled_module_whose_source_changed(tmp_path: Path) -> None:
    package = fake_build(tmp_path)
    (package / "window.py").write_text("NAME = 'edited'\n", encoding="utf-8")
    assert stale_build_reason(package) == (
        "alerting/window.py changed since the core was compiled; "
        "run ./dev setup (or pip install -e .) to rebuild it"
    )


def test_guard_accepts_an_edit_to_a_module_that_is_not_compiled(tmp_path: Path) -> None:
    """Uncompiled modules run as Python, so their edits take effect: nothing is stale."""
    package = fake_build(tmp_path)
    (package / "policy.py").write_text("# a comment\n", encoding="utf-8")
    (tmp_path / "models" / "report.py").write_text("SCHEMA = 2\n", encoding="utf-8")
    assert stale_build_reason(package) is None


def test_guard_refuses_a_source_added_or_removed_since_the_build(tmp_path: Path) -> None:
    package = fake_build(tmp_path)
    (package / "engine.py").unlink()
    reason = stale_build_reason(package)
    assert reason is not None
    assert reason.startswith("alerting/engine.py changed")


def test_guard_refuses_compiled_modules_without_a_build_record(tmp_path: Path) -> None:
    package = fake_build(tmp_path)
    (package / compiled.BUILD_RECORD).unlink()
    reason = stale_build_reason(package)
    assert reason is not None
    assert reason.startswith(f"alerting/window{EXTENSION_SUFFIXES[0]} has no build record")


def test_guard_refuses_a_module_the_last_build_did_not_compile(tmp_path: Path) -> None:
    package = fake_build(tmp_path, modules=("window", "engine"))
    record = json.loads((package / compiled.BUILD_RECORD).read_text(encoding="utf-8"))
    record["compiled"] = ["window"]
    (package / compiled.BUILD_RECORD).write_text(json.dumps(record), encoding="utf-8")
    reason = stale_build_reason(package)
    assert reason is not None
    assert reason.startswith(f"alerting/engine{EXTENSION_SUFFIXES[0]} is not from the last build")


def test_importing_the_core_refuses_a_stale_compiled_module(tmp_path: Path) -> None:
    """The guard runs on ``import alerting``, before the stale extension could load.

    The placeholder extension is not a loadable module, so without the guard the
    import would fail differently (or, with a real stale build, silently succeed).
    """
    tree = stale_tree(tmp_path, ("alerting", "models"))

    result = run_in(tree, "import alerting")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"alerting.compiled.StaleBuildError: {STALE}"


def test_the_compiler_is_the_mypy_that_type_checks_the_code() -> None:
    """mypyc compiles what this mypy accepted: the two pins in pyproject.toml must agree."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {
        "build": pyproject["build-system"]["requires"],
        "dev": pyproject["project"]["optional-dependencies"]["dev"],
    }
    mypy = {name: [pin for pin in pins[name] if pin.startswith("mypy")] for name in pins}
    assert len(mypy["build"]) == 1
    assert mypy["build"] == mypy["dev"]
