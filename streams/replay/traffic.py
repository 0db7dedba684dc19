"""Synthetic report traffic at the platform's own report rates.

The rates are the generator's parameters, never read from the policy under
test: a detector judged on traffic drawn from its own priors is calibrated by
construction and cannot show what a platform with other rates does to it.
:data:`REFERENCE_RATES` are one platform's organic rates (they equal the
shipped priors, the calibrated case); scenarios scale them, per category, to
platforms 10x quieter or 10x busier.

Benign background traffic draws reports at those rates: audiences are
log-normal, scaled so that ``rate_per_second`` reports arrive in total, and
each broadcast receives its share in proportion to its viewers.

Abuse is added on top: a surge of credible viewers reporting one broadcast, and
a single report by a trusted flagger in a category that escalates on one report.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models.report import Category, Platform

REFERENCE_RATES: Mapping[Category, float] = {
    Category.CHILD_SAFETY: 1.0e-8,
    Category.VIOLENT_EXTREMISM: 2.0e-8,
    Category.VIOLENT_THREAT: 5.0e-8,
    Category.GRAPHIC_VIOLENCE: 1.0e-7,
    Category.SELF_HARM: 5.0e-8,
    Category.ADULT_CONTENT: 2.0e-7,
    Category.HATEFUL_CONDUCT: 2.0e-7,
    Category.HARASSMENT: 3.0e-7,
    Category.PRIVATE_INFO: 5.0e-8,
    Category.SPAM: 5.0e-7,
    Category.COPYRIGHT: 2.0e-7,
    Category.OTHER: 3.0e-7,
}
"""Benign reports per concurrent viewer per second, by category, of a reference platform."""

MALFORMED_SAMPLES: tuple[bytes, ...] = (
    b"not json at all",
    b'{"schema_version": 1, "report_id": "x"',
    b"[1, 2, 3]",
    b'{"schema_version": 2, "report_id": "r", "broadcast_id": "b", "reporter_id": "u",'
    b' "category": "spam", "reported_at": "2026-01-01T00:00:00Z"}',
    b'{"schema_version": 1, "report_id": "r", "broadcast_id": "b", "reporter_id": "u",'
    b' "category": "spam", "reported_at": "yesterday"}',
    b'{"schema_version": 1, "report_id": "r", "broadcast_id": "b", "category": "spam",'
    b' "reported_at": "2026-01-01T00:00:00Z"}',
    b"\xff\xfe\x00garbage",
    b'{"schema_version": 1, "report_id": "r", "broadcast_id": "b", "reporter_id": "u",'
    b' "category": "spam", "reported_at": "2026-01-01T00:00:00Z", "viewer_count": -5}',
)


@dataclass(frozen=True, slots=True)
class Broadcast:
    broadcast_id: str
    broadcaster_id: str
    viewers: int
    platform: Platform
    region: str | None = None


def timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


class TrafficGenerator:
    def __init__(
        self,
        *,
        rates: Mapping[Category, float] = REFERENCE_RATES,
        broadcasts: int = 200,
        rate_per_second: float = 50.0,
        seed: int = 7,
        prefix: str = "bc",
        ordinary_trust: tuple[float, float] = (0.0, 0.6),
    ) -> None:
        self.random = random.Random(seed)
        self.ordinary_trust = ordinary_trust
        self.rate_per_second = rate_per_second
        self.rates = dict(rates)
        self._categories = list(rates)
        self._category_weights = list(itertools.accumulate(rates.values()))
        total_audience = rate_per_second / sum(rates.values())
        raw = [self.random.lognormvariate(7.5, 1.5) for _ in range(broadcasts)]
        scale = total_audience / sum(raw)
        self.broadcasts = [
            Broadcast(
                broadcast_id=f"{prefix}-{index:05d}",
                broadcaster_id=f"creator-{index:05d}",
                viewers=max(1, round(weight * scale)),
                platform=self.random.choice(list(Platform)),
            )
            for index, weight in enumerate(raw)
        ]
        # Cumulative weights: a draw is a bisection instead of a pass over every
        # broadcast, which matters when the benchmark generates 100k-broadcast loads.
        self._audience_weights = list(itertools.accumulate(b.viewers for b in self.broadcasts))
        self._ids = itertools.count(1)

    def background(self, at: float) -> dict[str, Any]:
        """One benign report: broadcast by audience share, category by base rate."""
        broadcast = self.random.choices(self.broadcasts, cum_weights=self._audience_weights)[0]
        return self.benign(broadcast, self.category(), at)

    def category(self) -> Category:
        """A category drawn in proportion to the platform's rates."""
        return self.random.choices(self._categories, cum_weights=self._category_weights)[0]

    def benign(self, broadcast: Broadcast, category: Category, at: float) -> dict[str, Any]:
        """One report by the ordinary mix of viewers (some untrusted, some not watching)."""
        return self._report(
            broadcast,
            category,
            at,
            self._reporter(
                max_age=2000, trust=self.ordinary_trust, was_viewing=self.random.random() < 0.8
            ),
        )

    def coordinated(self, broadcast: Broadcast, category: Category, at: float) -> dict[str, Any]:
        """One report of a false-reporting campaign: a fresh, low-trust, non-viewing account."""
        return self._report(
            broadcast,
            category,
            at,
            self._reporter(max_age=3, trust=(0.0, 0.1), was_viewing=False),
        )

    def clicker(
        self, broadcast: Broadcast, category: Category, at: float, reporter_id: str
    ) -> dict[str, Any]:
        """One more click of the same ordinary viewer."""
        report = self.benign(broadcast, category, at)
        report["reporter_id"] = reporter_id
        return report

    def surge(self, broadcast: Broadcast, category: Category, at: float) -> dict[str, Any]:
        """One report of an abuse surge: a distinct, credible viewer each time."""
        return self._report(
            broadcast,
            category,
            at,
            self._reporter(min_age=60, max_age=3000, trust=(0.5, 0.95), was_viewing=True),
        )

    def trusted_report(self, broadcast: Broadcast, category: Category, at: float) -> dict[str, Any]:
        return self._report(
            broadcast,
            category,
            at,
            reporter={
                "account_age_days": 2400,
                "trust": 0.97,
                "trusted_flagger": True,
                "was_viewing": True,
            },
        )

    def credible_report(
        self, broadcast: Broadcast, category: Category, at: float
    ) -> dict[str, Any]:
        """One report by a long-standing, trusted viewer who is not a trusted flagger."""
        return self._report(
            broadcast,
            category,
            at,
            self._reporter(min_age=400, max_age=3000, trust=(0.85, 0.97), was_viewing=True),
        )

    def malformed(self) -> bytes:
        return self.random.choice(MALFORMED_SAMPLES)

    def smallest(self, rank: int = 0) -> Broadcast:
        """A small broadcast: abuse there is what fixed thresholds miss."""
        return sorted(self.broadcasts, key=lambda b: b.viewers)[len(self.broadcasts) // 20 + rank]

    def largest(self) -> Broadcast:
        return max(self.broadcasts, key=lambda b: b.viewers)

    def _reporter(
        self, *, trust: tuple[float, float], was_viewing: bool, min_age: int = 0, max_age: int
    ) -> dict[str, Any]:
        return {
            "account_age_days": self.random.randint(min_age, max_age),
            "trust": round(self.random.uniform(*trust), 3),
            "trusted_flagger": False,
            "was_viewing": was_viewing,
        }

    def _report(
        self, broadcast: Broadcast, category: Category, at: float, reporter: dict[str, Any]
    ) -> dict[str, Any]:
        number = next(self._ids)
        region = {"region": broadcast.region} if broadcast.region else {}
        return {
            **region,
            "schema_version": 1,
            "report_id": f"rep-{number:09d}-{self.random.getrandbits(32):08x}",
            "broadcast_id": broadcast.broadcast_id,
            "broadcaster_id": broadcast.broadcaster_id,
            "reporter_id": f"user-{self.random.getrandbits(40):010x}",
            "category": category.value,
            "reported_at": timestamp(at),
            "platform": broadcast.platform.value,
            "media_type": "live_video",
            "viewer_count": broadcast.viewers,
            "reporter": reporter,
        }


def paced(rate_per_second: float, start: float) -> Iterator[float]:
    """Send times for a steady rate starting at ``start``."""
    interval = 1.0 / rate_per_second
    for index in itertools.count():
        yield start + index * interval
