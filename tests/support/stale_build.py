"""A copy of the packages whose compiled core is stale: ``window``'s source edited after
its (placeholder) extension was built."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import alerting
from alerting import compiled

STALE = (
    "alerting/window.py changed since the core was compiled; "
    "run ./dev setup (or pip install -e .) to rebuild it"
)
"""What the guard says of the tree :func:`stale_tree` builds."""


def stale_tree(root: Path, packages: Sequence[str]) -> Path:
    """``packages`` copied under ``root`` (without built files), ``alerting`` compiled and
    stale; ``root`` is returned for ``PYTHONPATH``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", compiled.BUILD_RECORD)
    source_root = Path(alerting.__file__).parents[1]
    for package in packages:
        shutil.copytree(source_root / package, root / package, ignore=ignore)
    (root / "alerting" / f"window{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    (root / "alerting" / compiled.BUILD_RECORD).write_text(
        json.dumps(compiled.build_record(root)), encoding="utf-8"
    )
    with (root / "alerting" / "window.py").open("a", encoding="utf-8") as source:
        source.write("# edited after the build\n")
    return root


def run_in(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` with only ``root``'s copies of the project's packages on the path."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
