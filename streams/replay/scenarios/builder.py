"""The building blocks every scenario shares: its world, its distortions, its builder.

A :class:`World` is a scenario's own parameters (the platform it plays on, never
the policy judging it); its :class:`Distortions` are what clients and the
delivery path do to reports; a :class:`ScenarioBuilder` labels each report,
distorts it as the world does and queues it with its record timestamp.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from models.report import Category, Platform
from streams.replay.labels import LabelKind
from streams.replay.traffic import REFERENCE_RATES, Broadcast, TrafficGenerator, timestamp

SCENARIO_START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC).timestamp()
SURGE_CATEGORIES = (
    Category.HARASSMENT,
    Category.HATEFUL_CONDUCT,
    Category.VIOLENT_THREAT,
    Category.SELF_HARM,
    Category.ADULT_CONTENT,
    Category.GRAPHIC_VIOLENCE,
)
REGIONS = ("eu", "us", "apac")
MAX_RATE_FACTOR = 10.0
"""Platform rates stay within 10x of the reference in either direction."""


@dataclass(frozen=True, slots=True)
class ScenarioMessage:
    """One message: when it was made and reached Kafka, its key and its value bytes."""

    at: float
    delivered_at: float
    key: bytes | None
    value: bytes


class ViewerCountHabit(StrEnum):
    """Whether a broadcast's clients send ``viewer_count``: older apps, clips and images,
    and some platforms never do, and a mix of clients sends it only sometimes."""

    SENT = "sent"
    SOMETIMES = "sometimes"
    OMITTED = "omitted"


SOMETIMES_ODDS = 0.5
"""The share of a ``SOMETIMES`` broadcast's reports that carry ``viewer_count``."""


@dataclass(frozen=True, slots=True)
class Distortions:
    """What clients and the delivery path do to reports; each share is of all reports,
    but for the viewer count's, which are of broadcasts (a client's habit)."""

    missing_reporter_share: float = 0.0
    skewed_clock_share: float = 0.0
    clock_skew_seconds: tuple[float, float] = (2.0, 300.0)
    """Skews are log-uniform in this range, ahead or behind with equal odds."""
    late_share: float = 0.0
    delivery_lag_seconds: tuple[float, float] = (10.0, 45.0)
    retry_share: float = 0.0
    """Reports sent again under the same ``report_id``, one to three more times."""
    viewer_count_omitted_share: float = 0.0
    """Broadcasts whose reports never carry ``viewer_count``."""
    viewer_count_sometimes_share: float = 0.0
    """Broadcasts whose reports carry ``viewer_count`` only some of the time."""


@dataclass(frozen=True, slots=True)
class World:
    """A scenario's own parameters: the platform it plays on, never the policy judging it."""

    duration: float = 600.0
    background_rate: float = 10.0
    """Background reports per second at the start of the run."""
    broadcasts: int = 300
    rate_factor: float = 1.0
    """Platform report rates relative to the reference (each category jittered x/÷2)."""
    evening_rise: float = 1.0
    """Factor the platform's rates reach, linearly, by the end of the run."""
    ordinary_trust: tuple[float, float] = (0.0, 0.6)
    """The range of the trust scores its ordinary reporters' accounts have: a platform's
    trust model is its own, and its scale is not the policy's."""
    distortions: Distortions = field(default_factory=Distortions)


@dataclass(slots=True)
class ScenarioBuilder:
    generator: TrafficGenerator
    start: float
    world: World
    messages: list[ScenarioMessage] = field(default_factory=list)
    viewer_count_habits: dict[str, ViewerCountHabit] = field(default_factory=dict)
    """Each broadcast's habit, drawn from the world when its first report is added
    unless a part set it first."""

    @property
    def random(self) -> random.Random:
        return self.generator.random

    @property
    def duration(self) -> float:
        return self.world.duration

    def add(
        self,
        offset: float,
        report: dict[str, Any],
        kind: LabelKind,
        incident: str = "",
        *,
        onset: float | None = None,
        skew: float | None = None,
        lag: float | None = None,
        retries: int | None = None,
        keep_reporter: bool = False,
    ) -> None:
        """Label a report, distort it as the world does, and queue it (and its retries).

        ``skew``, ``lag`` and ``retries`` override the world's random distortions;
        ``keep_reporter`` exempts a report whose credibility is the point of it.
        """
        made = self.start + offset
        label: dict[str, str] = {"kind": kind.value}
        if incident:
            label["incident"] = incident
        if onset is not None:
            label["onset"] = timestamp(self.start + onset)
        skew = self._skew() if skew is None else skew
        if skew:
            report["reported_at"] = timestamp(made + skew)
            label["made_at"] = timestamp(made)
        if not keep_reporter and self._happens(self.world.distortions.missing_reporter_share):
            report.pop("reporter", None)
        if self._drops_viewer_count(report["broadcast_id"]):
            report.pop("viewer_count", None)
        report["label"] = label
        delivered = made + (self._lag() if lag is None else lag)
        retries = self._retries() if retries is None else retries
        for copy in range(retries + 1):
            if copy:
                delivered += self.random.uniform(1.0, 20.0)
            report["kafka_timestamp_ms"] = round(delivered * 1000)
            self.messages.append(
                ScenarioMessage(
                    made, delivered, report["broadcast_id"].encode(), orjson.dumps(report)
                )
            )

    def incident(
        self,
        name: str,
        kind: LabelKind,
        reports: list[tuple[float, dict[str, Any]]],
        *,
        lag: float | None = None,
        first_skew: float | None = None,
        keep_reporter: bool = False,
    ) -> None:
        """Add an incident's reports; its onset is when the first of them was made.

        ``lag`` delays all of them (a late path, give or take three seconds);
        ``first_skew`` puts the first reporter's clock off by that much.
        """
        reports.sort(key=lambda pair: pair[0])
        onset = reports[0][0]
        for index, (offset, report) in enumerate(reports):
            self.add(
                offset,
                report,
                kind,
                name,
                onset=onset,
                skew=first_skew if index == 0 else None,
                lag=None if lag is None else lag + self.random.uniform(0.0, 3.0),
                keep_reporter=keep_reporter,
            )

    def broadcast(self, name: str, viewers: int, region: str | None = None) -> Broadcast:
        return Broadcast(
            broadcast_id=name,
            broadcaster_id=f"creator-{name}",
            viewers=viewers,
            platform=self.random.choice(list(Platform)),
            region=region,
        )

    def arrivals(
        self, peak: float, begin: float, end: float, shape: Callable[[float], float] | None = None
    ) -> Iterator[float]:
        """Poisson arrival offsets at intensity ``peak * shape(t)`` (thinning, shape <= 1)."""
        at = begin
        while True:
            at += self.random.expovariate(peak)
            if at >= end:
                return
            if shape is None or self.random.random() <= shape(at):
                yield at

    def ramp(
        self,
        name: str,
        target: Broadcast,
        category: Category,
        *,
        peak: float,
        shape: Callable[[float], float],
        begin: float,
        end: float,
        before: LabelKind,
    ) -> None:
        """A category's reports at ``peak * shape(offset)`` until ``end``: those made
        before ``begin`` are the broadcast's ordinary ones (labelled ``before``), the rest
        the ramp incident ``name``."""
        reports = []
        for offset in self.arrivals(peak, 0.0, end, shape):
            report = self.generator.benign(target, category, self.start + offset)
            if offset < begin:
                self.add(offset, report, before)
            else:
                reports.append((offset, report))
        self.incident(name, LabelKind.RAMP, reports)

    def level(self, offset: float) -> float:
        """The platform's rate at ``offset`` relative to its peak (1 without an evening rise)."""
        rise = self.world.evening_rise
        return (1.0 + (rise - 1.0) * offset / self.duration) / rise

    def organic(self, rate: float, begin: float, end: float, grows: float = 1.0) -> Iterator[float]:
        """Arrivals of a rate that follows the platform's evening rise from ``rate``; with
        ``grows``, the broadcast's own rate rises too, to that many times by the end."""
        if grows != 1.0:
            return self.arrivals(
                rate * self.world.evening_rise * grows,
                begin,
                end,
                lambda at: self.level(at) * self.grown(grows, at) / grows,
            )
        if self.world.evening_rise == 1.0:
            return self.arrivals(rate, begin, end)
        return self.arrivals(rate * self.world.evening_rise, begin, end, self.level)

    def live_before(self, target: Broadcast, begin: float) -> None:
        """The ordinary reports of ``target``'s audience at the world's rates, from a time
        it went live before ``begin`` (anywhere from the run's start to the moment itself)
        to the end: a broadcast in trouble has mostly been live a while, and its ordinary
        reports are what its level is learned from.

        They draw from a random stream of their own (seeded by the broadcast, its audience
        and the surge's time), so every other part of the scenario, incidents included, is
        what it would be without them and a figure moved by them is theirs."""
        shared = self.generator.random
        self.generator.random = random.Random(f"{target.broadcast_id}/{target.viewers}/{begin}")
        try:
            live_from = self.random.uniform(0.0, begin)
            for category, rate in self.generator.rates.items():
                for offset in self.organic(rate * target.viewers, live_from, self.duration):
                    report = self.generator.benign(target, category, self.start + offset)
                    self.add(offset, report, LabelKind.BACKGROUND)
        finally:
            self.generator.random = shared

    def grown(self, grows: float, offset: float) -> float:
        """How many times its start a rate growing linearly to ``grows`` by the end is at
        ``offset``."""
        return 1.0 + (grows - 1.0) * offset / self.duration

    def _drops_viewer_count(self, broadcast_id: str) -> bool:
        habit = self.viewer_count_habits.get(broadcast_id)
        if habit is None:
            habit = self.viewer_count_habits[broadcast_id] = self._viewer_count_habit()
        return habit is ViewerCountHabit.OMITTED or (
            habit is ViewerCountHabit.SOMETIMES and not self._happens(SOMETIMES_ODDS)
        )

    def _viewer_count_habit(self) -> ViewerCountHabit:
        distortions = self.world.distortions
        omitted = distortions.viewer_count_omitted_share
        sometimes = distortions.viewer_count_sometimes_share
        if not omitted and not sometimes:
            return ViewerCountHabit.SENT
        draw = self.random.random()
        if draw < omitted:
            return ViewerCountHabit.OMITTED
        if draw < omitted + sometimes:
            return ViewerCountHabit.SOMETIMES
        return ViewerCountHabit.SENT

    def _happens(self, share: float) -> bool:
        return share > 0.0 and self.random.random() < share

    def _skew(self) -> float:
        distortions = self.world.distortions
        if not self._happens(distortions.skewed_clock_share):
            return 0.0
        low, high = distortions.clock_skew_seconds
        size = math.exp(self.random.uniform(math.log(low), math.log(high)))
        return round(size if self.random.random() < 0.5 else -size, 3)

    def _lag(self) -> float:
        distortions = self.world.distortions
        if not self._happens(distortions.late_share):
            return 0.0
        return self.random.uniform(*distortions.delivery_lag_seconds)

    def _retries(self) -> int:
        return self.random.randint(1, 3) if self._happens(self.world.distortions.retry_share) else 0


def platform_rates(factor: float, seed: int) -> dict[Category, float]:
    """The reference rates times ``factor``, each category jittered x/÷2, within 10x.

    At factor 1 there is no jitter: the classic scenarios play at the reference.
    """
    if factor == 1.0:
        return dict(REFERENCE_RATES)
    jitter = random.Random(f"rates-{seed}")
    rates = {}
    for category, rate in REFERENCE_RATES.items():
        scaled = factor * math.exp(jitter.uniform(-math.log(2.0), math.log(2.0)))
        rates[category] = rate * min(MAX_RATE_FACTOR, max(1.0 / MAX_RATE_FACTOR, scaled))
    return rates


def log_uniform(b: ScenarioBuilder, low: float, high: float) -> float:
    return math.exp(b.random.uniform(math.log(low), math.log(high)))


Part = Callable[[ScenarioBuilder], object]
"""One part of a scenario: adds its broadcasts' reports to the builder."""
