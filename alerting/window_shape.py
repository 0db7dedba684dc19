"""The shape of every window of a policy: its length, its buckets, its lateness and its cap.

The semantics of the buckets are :mod:`alerting.window`'s; this is apart so that what
knows only a window's shape (the engine's clock, the evidence, the expectation) need
not import the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WindowShape:
    """``bucket_count`` is derived once: every report asks for the window's first bucket."""

    length_seconds: float
    bucket_seconds: float
    allowed_lateness_seconds: float
    max_reporters: int
    bucket_count: int = field(init=False)

    def __post_init__(self) -> None:
        count = max(1, math.ceil(self.length_seconds / self.bucket_seconds))
        object.__setattr__(self, "bucket_count", count)

    def bucket_of(self, event_time: float) -> int:
        return math.floor(event_time / self.bucket_seconds)

    def first_bucket(self, watermark: float) -> int:
        """Oldest bucket still inside the window that ends at ``watermark``."""
        return self.bucket_of(watermark) - self.bucket_count + 1
