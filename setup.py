"""Build step of spikewatch: compiles the decision core with mypyc.

Everything else about the package is declared in ``pyproject.toml``; this file
only adds the extension modules, because setuptools has no declarative way to
run mypyc. The per-report Python work of ``alerting/`` limits a worker's
throughput, and compiled it costs 20-25% less CPU per report (README,
"Compiled core"). ``streams/`` stays interpreted: it is the shell around
Faust and aiokafka (it subclasses their classes), and a trial build that
compiled ``streams/broadcasts.py`` ran the core benchmark out of memory.

Set ``SPIKEWATCH_PURE_PYTHON=1`` at install time on a platform without a C
compiler: the package then installs as plain Python, behaves the same and is
slower. mypy and the packages whose types the core uses are build requirements
(``[build-system] requires``) because mypyc type-checks the modules it compiles
with the project's own mypy settings.

Beside the extension modules the build writes a record of the sources they were
compiled from; ``alerting.compiled`` explains the stale-module guard that reads it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.editable_wheel import editable_wheel

ROOT = Path(__file__).resolve().parent
PURE_PYTHON = os.environ.get("SPIKEWATCH_PURE_PYTHON") == "1"
GROUP_NAME = "spikewatch_core"


def load_build_check() -> ModuleType:
    """``alerting/compiled.py`` by path: importing the package would import the core."""
    spec = importlib.util.spec_from_file_location("build_check", ROOT / "alerting" / "compiled.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load_build_check()
# Taken before mypyc reads the sources, so the record describes what was compiled.
record = json.dumps(check.build_record(ROOT), indent=1, sort_keys=True)


def compiled_extensions() -> list[Extension]:
    if PURE_PYTHON:
        return []
    from mypyc.build import mypycify

    sources = [f"alerting/{module}.py" for module in check.COMPILED_MODULES]
    return mypycify(sources, group_name=GROUP_NAME)


def write_record(package_dir: Path) -> None:
    (package_dir / check.BUILD_RECORD).write_text(record + "\n", encoding="utf-8")


class BuildCore(build_ext):
    """Writes the build record beside the extension modules it has just built.

    That is the build directory for a wheel, and the source tree for an editable
    install (setuptools copies the modules there before ``run`` returns).
    """

    def run(self) -> None:
        super().run()
        write_record(Path(self.get_ext_fullpath(f"alerting.{check.COMPILED_MODULES[0]}")).parent)


class EditableCore(editable_wheel):
    """Removes what an earlier editable build left in the source tree before building.

    Those files shadow the sources, so none may outlive the build that made them:
    not after ``SPIKEWATCH_PURE_PYTHON=1``, nor for a module no longer compiled.
    """

    def run(self) -> None:
        stale = [*check.compiled_files(ROOT / "alerting"), ROOT / "alerting" / check.BUILD_RECORD]
        stale += ROOT.glob(f"{GROUP_NAME}__mypyc.*")
        for path in stale:
            path.unlink(missing_ok=True)
        super().run()


setup(
    ext_modules=compiled_extensions(),
    cmdclass={"build_ext": BuildCore, "editable_wheel": EditableCore},
)
