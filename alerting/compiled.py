"""Which core modules the build compiles with mypyc, and the guard against stale ones.

Compiled, the decision core costs clearly less CPU per report, and CPU per report
is the worker's throughput limit (figures: ``docs/benchmarks.md``). ``setup.py``
compiles :data:`COMPILED_MODULES` unless ``SPIKEWATCH_PURE_PYTHON=1`` is set at install
time, and records the SHA-256 of each compiled module's source in
:data:`BUILD_RECORD` beside the extension modules.

The hazard it guards against: an editable install leaves ``window.cpython-*.so``
beside ``window.py`` and Python imports the extension first, so an edit to
``window.py`` would be silently ignored until the next build. Only compiled
modules are checked: an uncompiled module (``policy.py``, a model) is imported
as Python by the compiled code at run time, so its edits take effect, and
refusing to import after a comment changed there would only stop the work.
``alerting/__init__.py`` calls
:func:`refuse_stale_build` before importing anything else, so a changed source
stops the import with one line saying what to run. Digests, not mtimes: a git
checkout rewrites mtimes without changing a byte.

This module is loaded by ``setup.py`` from its path in an isolated build
environment, so it imports nothing but the standard library, and it is never
compiled itself (it must run before any compiled module is loaded).
"""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The modules on the per-report path (the experiment's list). policy.py and
# detection_policy.py (pydantic, read once) stay interpreted; models/fast_report.py and
# models/decode.py compiled as well made the core benchmark no faster (median 52 against
# 46 us a report).
COMPILED_MODULES = (
    "admission",
    "baseline",
    "detectors",
    "encoding",
    "engine",
    "evidence",
    "expectation",
    "history",
    "incident_desk",
    "incidents",
    "outcomes",
    "ramp",
    "report_views",
    "reporter_mark",
    "routing",
    "standing",
    "state",
    "state_records",
    "stats",
    "views",
    "window",
    "window_shape",
)
PACKAGE = "alerting"
BUILD_RECORD = "compiled-from.json"
REBUILD_HINT = "run ./dev setup (or pip install -e .) to rebuild it"


class StaleBuildError(ImportError):
    """A compiled core module no longer matches the sources it was built from."""


def source_digests(root: Path) -> dict[str, str]:
    """SHA-256 of each compiled module's source, by path relative to ``root``.

    A source that has gone is left out, so the comparison reports it as changed.
    """
    package = root / PACKAGE
    return {
        f"{PACKAGE}/{module}.py": hashlib.sha256(path.read_bytes()).hexdigest()
        for module in COMPILED_MODULES
        if (path := package / f"{module}.py").is_file()
    }


def compiled_files(package_dir: Path) -> list[Path]:
    """The extension modules in ``package_dir``: what Python imports instead of the ``.py``."""
    return sorted(
        path
        for path in package_dir.iterdir()
        if any(path.name.endswith(suffix) for suffix in EXTENSION_SUFFIXES)
    )


def build_record(root: Path) -> dict[str, object]:
    """What ``setup.py`` writes beside the extension modules it builds from ``root``."""
    return {"compiled": list(COMPILED_MODULES), "sources": source_digests(root)}


def stale_build_reason(package_dir: Path) -> str | None:
    """Why the compiled modules in ``package_dir`` must not be imported, or None if they may."""
    compiled = compiled_files(package_dir)
    if not compiled:
        return None
    try:
        record = json.loads((package_dir / BUILD_RECORD).read_text(encoding="utf-8"))
        built, recorded = set(record["compiled"]), dict(record["sources"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"{package_dir.name}/{compiled[0].name} has no build record; {REBUILD_HINT}"
    for path in compiled:
        if path.name.split(".", 1)[0] not in built:
            return f"{package_dir.name}/{path.name} is not from the last build; {REBUILD_HINT}"
    current = source_digests(package_dir.parent)
    for source in sorted(recorded.keys() | current.keys()):
        if current.get(source) != recorded.get(source):
            return f"{source} changed since the core was compiled; {REBUILD_HINT}"
    return None


def refuse_stale_build(package_dir: Path) -> None:
    reason = stale_build_reason(package_dir)
    if reason is not None:
        raise StaleBuildError(reason)
