"""Build Acknowledgement v1 payloads for tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson


def acknowledgement(
    dedup_key: str, action: str = "acknowledged", actor: str = "human", at: float | None = None
) -> tuple[bytes, bytes]:
    """A Kafka (key, value) pair keyed by ``dedup_key``, as the contract asks."""
    payload = {
        "schema_version": 1,
        "dedup_key": dedup_key,
        "action": action,
        "actor": actor,
        "acted_at": datetime.fromtimestamp(at if at is not None else time.time(), UTC).isoformat(),
        "tool": "test-pager",
    }
    return dedup_key.encode(), orjson.dumps(payload)
