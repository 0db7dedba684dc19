"""Build ReportEvent v1 payloads for tests."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import orjson

_SEQUENCE = itertools.count(1)

CREDIBLE_VIEWER = {
    "account_age_days": 400,
    "trust": 0.9,
    "trusted_flagger": False,
    "was_viewing": True,
}
TRUSTED_FLAGGER = {
    "account_age_days": 3000,
    "trust": 0.99,
    "trusted_flagger": True,
    "was_viewing": True,
}
ORDINARY_VIEWER = {
    "account_age_days": 90,
    "trust": 0.3,
    "trusted_flagger": False,
    "was_viewing": True,
}


def report(
    broadcast_id: str,
    category: str = "harassment",
    *,
    reporter_id: str | None = None,
    at: float | None = None,
    viewers: int | None = 1000,
    reporter: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    number = next(_SEQUENCE)
    payload: dict[str, Any] = {
        "schema_version": 1,
        "report_id": f"r-{broadcast_id}-{number}",
        "broadcast_id": broadcast_id,
        "reporter_id": reporter_id or f"u-{broadcast_id}-{number}",
        "category": category,
        "reported_at": datetime.fromtimestamp(
            at if at is not None else time.time(), tz=UTC
        ).isoformat(),
        "broadcaster_id": f"owner-{broadcast_id}",
        "platform": "periscope",
        "viewer_count": viewers,
        "reporter": reporter if reporter is not None else dict(CREDIBLE_VIEWER),
    }
    payload.update(extra)
    return payload


def keyed(payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """A Kafka (key, value) pair keyed by broadcast, as the contract asks."""
    return payload["broadcast_id"].encode(), orjson.dumps(payload)
