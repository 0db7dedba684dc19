"""Load ``deploy/kafka/local_broker.py`` by path: ``deploy/`` is not a Python package.

The benchmark and the test session both start their own broker through it; the
script stays stdlib-only so it also runs before the virtualenv exists.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_BROKER_SCRIPT = REPO_ROOT / "deploy" / "kafka" / "local_broker.py"


def load_local_broker() -> ModuleType:
    """Registered in ``sys.modules`` first, since dataclasses look their module up there."""
    name = "spikewatch_local_broker"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LOCAL_BROKER_SCRIPT)
    if spec is None or spec.loader is None or not LOCAL_BROKER_SCRIPT.is_file():
        raise FileNotFoundError(
            f"{LOCAL_BROKER_SCRIPT} is missing; run from a spikewatch source checkout"
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
