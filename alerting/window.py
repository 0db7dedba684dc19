"""Per-broadcast, per-category sliding windows over event time.

A window is a ring of fixed buckets: with ``length_seconds=300`` and
``bucket_seconds=10`` it keeps 30 buckets. Bucket ``i`` holds reports whose event
time falls in ``[i * 10, (i + 1) * 10)``. At event time ``t`` the window holds the
30 buckets ending with the one containing ``t``::

    t = 12:05:03  ->  current bucket 12:05:00, window = [12:00:10, 12:05:10)

Time only moves forward with the newest event time seen on the broadcast (the
broadcast's own watermark), never with the wall clock, so a replay at any speed
builds exactly the windows the live worker built.

A report is *late* and left out (the caller counts it) when its event time is more
than ``allowed_lateness_seconds`` behind the newest one, or when its bucket has
already left the window; a late report cannot change a decision already taken.

Reporters are counted distinct within the window: a reporter who clicks twenty
times counts once. The reporter set is kept in last-seen order so that expiry
costs only the reporters that leave; it is capped at ``max_reporters_per_category``
by dropping the longest-unseen reporter, so a flood cannot grow memory without
bound (above the cap, the distinct count is a lower bound: still far past any
threshold).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from models.escalation import MAX_SAMPLE_REPORT_IDS


@dataclass(frozen=True, slots=True)
class WindowShape:
    length_seconds: float
    bucket_seconds: float
    allowed_lateness_seconds: float
    max_reporters: int

    @property
    def bucket_count(self) -> int:
        return max(1, math.ceil(self.length_seconds / self.bucket_seconds))

    def bucket_of(self, event_time: float) -> int:
        return math.floor(event_time / self.bucket_seconds)

    def first_bucket(self, watermark: float) -> int:
        """Oldest bucket still inside the window that ends at ``watermark``."""
        return self.bucket_of(watermark) - self.bucket_count + 1


@dataclass(slots=True)
class ReporterMark:
    last_seen: float
    credible: bool


@dataclass(slots=True)
class CategoryWindow:
    """Counts, distinct reporters and recent report ids of one category."""

    buckets: dict[int, int] = field(default_factory=dict)
    reports: int = 0
    reporters: dict[str, ReporterMark] = field(default_factory=dict)
    credible_reporters: int = 0
    sample_report_ids: deque[str] = field(
        default_factory=lambda: deque(maxlen=MAX_SAMPLE_REPORT_IDS)
    )

    def add(
        self,
        shape: WindowShape,
        bucket: int,
        event_time: float,
        reporter_key: str,
        credible: bool,
        report_id: str,
    ) -> None:
        self.buckets[bucket] = self.buckets.get(bucket, 0) + 1
        self.reports += 1
        self.sample_report_ids.append(report_id)
        previous = self.reporters.pop(reporter_key, None)
        if previous is not None:
            if previous.credible:
                self.credible_reporters -= 1
            event_time = max(event_time, previous.last_seen)
            credible = credible or previous.credible
        self.reporters[reporter_key] = ReporterMark(event_time, credible)
        if credible:
            self.credible_reporters += 1
        while len(self.reporters) > shape.max_reporters:
            self._drop_oldest_reporter()

    def expire(self, shape: WindowShape, watermark: float) -> None:
        """Drop buckets and reporters that have left the window ending at ``watermark``."""
        first = shape.first_bucket(watermark)
        for bucket in [b for b in self.buckets if b < first]:
            self.reports -= self.buckets.pop(bucket)
        window_start = first * shape.bucket_seconds
        while self.reporters:
            oldest = next(iter(self.reporters.values()))
            if oldest.last_seen >= window_start:
                break
            self._drop_oldest_reporter()

    def _drop_oldest_reporter(self) -> None:
        key = next(iter(self.reporters))
        if self.reporters.pop(key).credible:
            self.credible_reporters -= 1

    @property
    def distinct_reporters(self) -> int:
        return len(self.reporters)

    @property
    def is_empty(self) -> bool:
        return self.reports == 0 and not self.reporters

    def to_plain(self) -> dict[str, Any]:
        return {
            "b": [[bucket, count] for bucket, count in self.buckets.items()],
            "r": [[key, mark.last_seen, mark.credible] for key, mark in self.reporters.items()],
            "s": list(self.sample_report_ids),
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> CategoryWindow:
        window = cls()
        window.buckets = {int(bucket): int(count) for bucket, count in plain["b"]}
        window.reports = sum(window.buckets.values())
        for key, last_seen, credible in plain["r"]:
            window.reporters[key] = ReporterMark(float(last_seen), bool(credible))
        window.credible_reporters = sum(1 for mark in window.reporters.values() if mark.credible)
        window.sample_report_ids.extend(plain["s"])
        return window
