"""Shared helpers for the decision-core tests (fixtures live in conftest.py)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alerting.policy import Policy
from models.report import Category, ReportEvent


def exact_tail(observed: int, mean: float) -> float:
    """P(X >= observed) for Poisson(mean), summed exactly: the reference for the detector."""
    return 1.0 - math.fsum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(observed))


def with_changes(policy: Policy, **sections: dict[str, Any]) -> Policy:
    """A copy of ``policy`` with some keys of some sections replaced, validated again."""
    document = policy.model_dump(mode="json")
    for name, changes in sections.items():
        document[name] = {**document[name], **changes}
    return Policy.model_validate(document)


T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
SMALL_AUDIENCE = 100
HARASSMENT_RATE = 3e-7  # categories.harassment.base_rate_per_viewer_second in default.yaml

ORDINARY = {"account_age_days": 90, "trust": 0.3, "trusted_flagger": False, "was_viewing": True}
HIGH_TRUST = {"account_age_days": 400, "trust": 0.95, "trusted_flagger": False, "was_viewing": True}
TRUSTED_FLAGGER = {"account_age_days": 3000, "trust": 0.99, "trusted_flagger": True}


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def make_report(
    reporter_id: str,
    *,
    at: float = T0,
    category: str = "harassment",
    viewers: int | None = SMALL_AUDIENCE,
    reporter: dict[str, Any] | None = None,
    report_id: str | None = None,
    broadcast_id: str = "b-1",
    **fields: Any,
) -> ReportEvent:
    payload: dict[str, Any] = {
        "schema_version": 1,
        "report_id": report_id or f"r:{reporter_id}:{category}:{at:.3f}",
        "broadcast_id": broadcast_id,
        "reporter_id": reporter_id,
        "category": category,
        "reported_at": utc(at).isoformat(),
        "viewer_count": viewers,
        "platform": "periscope",
        "broadcaster_id": "owner-1",
        **fields,
    }
    if reporter is not None:
        payload["reporter"] = reporter
    return ReportEvent.model_validate(payload)


def burst(
    count: int,
    *,
    start: float = T0,
    spacing: float = 1.0,
    prefix: str = "viewer",
    **fields: Any,
) -> list[ReportEvent]:
    return [
        make_report(f"{prefix}-{index}", at=start + index * spacing, **fields)
        for index in range(count)
    ]


def resolve_wait(policy: Policy) -> float:
    """An incident resolves this long after its last signal: quiet period + lateness."""
    return policy.lifecycle.resolve_after_quiet_seconds + policy.window.allowed_lateness_seconds


def poisson_arrivals(
    rate_per_second: float, start: float, end: float, generator: random.Random
) -> list[float]:
    """Event times of a Poisson stream of ``rate_per_second`` in ``[start, end)``."""
    times: list[float] = []
    if rate_per_second <= 0:
        return times
    at = start + generator.expovariate(rate_per_second)
    while at < end:
        times.append(at)
        at += generator.expovariate(rate_per_second)
    return times


def ordinary_reports(
    arrivals: list[tuple[float, str, Category, int]], reporter: dict[str, Any] = ORDINARY
) -> list[ReportEvent]:
    """``(seconds after T0, broadcast, category, viewers)`` as ordinary viewers' reports, in
    time order, each from a reporter of its own (``reporter`` their standing)."""
    return [
        make_report(
            f"viewer-{number}",
            at=T0 + at,
            category=category.value,
            viewers=viewers,
            reporter=reporter,
            broadcast_id=broadcast_id,
            report_id=f"{broadcast_id}-{number}",
        )
        for number, (at, broadcast_id, category, viewers) in enumerate(sorted(arrivals))
    ]


def steady_broadcast(
    policy: Policy,
    *,
    viewers: int,
    scale: float,
    seconds: float,
    seed: int = 11,
    broadcast_id: str = "big",
    rise: float = 1.0,
    tilt: Mapping[Category, float] | None = None,
) -> list[ReportEvent]:
    """Every category at ``scale`` x its prior for ``viewers``, ordinary reporters, in order;
    with ``rise``, the rates grow linearly to ``rise`` x by the end (an evening rise); with
    ``tilt``, its categories at that many times more (a mix of the broadcast's own)."""
    generator = random.Random(seed)
    tilt = tilt or {}
    return ordinary_reports(
        [
            (at, broadcast_id, category, viewers)
            for category in Category
            for at in poisson_arrivals(
                policy.category(category).base_rate_per_viewer_second
                * viewers
                * scale
                * rise
                * tilt.get(category, 1.0),
                0.0,
                seconds,
                generator,
            )
            if rise == 1.0 or generator.random() * rise <= 1 + (rise - 1) * at / seconds
        ]
    )
