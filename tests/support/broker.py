"""The local broker loader lives in :mod:`streams.local_broker`, shared with the benchmark."""

from __future__ import annotations

from streams.local_broker import LOCAL_BROKER_SCRIPT, REPO_ROOT, load_local_broker

__all__ = ["LOCAL_BROKER_SCRIPT", "REPO_ROOT", "load_local_broker"]
