"""Named, labelled traffic scenarios for ``spikewatch produce`` and ``spikewatch replay``.

A scenario is a list of messages in the order they reach Kafka, each the exact
bytes a producer would send. Valid reports carry a ``label`` field, which the
decoder ignores as an unknown extra field, so the same log drives the live
worker and lets replay score the decisions against the truth:

* ``kind`` (background, viral, raid, surge, spread_surge, ramp, child_safety,
  repeat_clicker, coordinated);
* ``incident`` and ``onset`` (when its first report was made) on the reports
  of an abuse incident or a coordinated campaign;
* ``made_at`` when the device clock was wrong, so that ``reported_at`` is not
  when the report was made.

Every line also carries ``kafka_timestamp_ms``, the record timestamp the
report gets when it reaches the broker (later than when it was made if it was
delivered late, one per copy if the client retried). A file has no other place
for it; replay reads it as the record's timestamp, and ``produce`` sends it as
one.

Rates are each scenario's own parameters (:data:`streams.traffic.REFERENCE_RATES`
scaled per category), never the policy's: a detector judged on traffic drawn
from its own priors is calibrated by construction.

The classic ``mixed`` scenario, 30 minutes at the reference rates:

* background broadcasts with log-normal audiences (must page nobody);
* viral broadcasts with hundreds of thousands of viewers (many reports, all
  normal for the audience: must page nobody);
* repeat clickers: one viewer clicking report thirty times (one signal: no page);
* coordinated bursts: fresh, low-trust, non-viewing accounts in a minute (must be
  classed ``coordinated_reporting``, never paged as abuse);
* abuse surges: fifteen credible viewers of a small or mid-sized broadcast within
  thirty seconds;
* slow ramps: a large broadcast whose report rate climbs to 2.5 times its
  baseline over five minutes and stays there (what a burst detector misses);
* single credible child-safety reports (must page at once);
* malformed messages (must be dead-lettered, and change nothing else).

The confounders, ten minutes each with surges and child-safety reports on top
so that recall is measured under them (docs/detection.md has the catalogue),
and all of them together in ``real_world``: platform rates 10x below or above
the reference, an evening rise, very large broadcasts with and without a surge,
raids, surges spread across categories, reports without a ``reporter``, skewed
device clocks, late delivery, client retries, false-reporting campaigns and
broadcasts whose reports carry no ``viewer_count`` (large ones too).

Everything is drawn from seeded generators: the same name, seed and sizes give
the same bytes, so replay figures are reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from models.errors import SpikewatchError
from models.report import Category, Platform
from streams.replay.scoring import LabelKind
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
SPREAD_CATEGORIES = (
    Category.VIOLENT_THREAT,
    Category.HARASSMENT,
    Category.HATEFUL_CONDUCT,
    Category.OTHER,
)
"""How viewers file one abusive broadcast: under several categories at once."""
REGIONS = ("eu", "us", "apac")
MAX_RATE_FACTOR = 10.0
"""Platform rates stay within 10x of the reference in either direction."""


class ScenarioError(SpikewatchError):
    """An unknown scenario name or unreadable seeds; the message says what is accepted."""


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
    distortions: Distortions = field(default_factory=Distortions)


@dataclass(slots=True)
class _Builder:
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

    def level(self, offset: float) -> float:
        """The platform's rate at ``offset`` relative to its peak (1 without an evening rise)."""
        rise = self.world.evening_rise
        return (1.0 + (rise - 1.0) * offset / self.duration) / rise

    def organic(self, rate: float, begin: float, end: float) -> Iterator[float]:
        """Arrivals of a rate that follows the platform's evening rise from ``rate``."""
        if self.world.evening_rise == 1.0:
            return self.arrivals(rate, begin, end)
        return self.arrivals(rate * self.world.evening_rise, begin, end, self.level)

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


def _log_uniform(b: _Builder, low: float, high: float) -> float:
    return math.exp(b.random.uniform(math.log(low), math.log(high)))


# The classic parts: absolute times within a 30-minute run.


def _background(b: _Builder) -> None:
    rate = b.world.background_rate
    if b.world.evening_rise == 1.0:
        offsets: Iterator[float] = (index / rate for index in range(int(b.duration * rate)))
    else:
        offsets = b.organic(rate, 0.0, b.duration)
    for offset in offsets:
        b.add(offset, b.generator.background(b.start + offset), LabelKind.BACKGROUND)


def _viral(b: _Builder) -> None:
    for index, viewers in enumerate((250_000, 500_000, 900_000)):
        target = b.broadcast(f"viral-{index}", viewers, REGIONS[index % 3])
        for category, rate in b.generator.rates.items():
            for offset in b.arrivals(rate * viewers, 0.0, b.duration):
                b.add(
                    offset, b.generator.benign(target, category, b.start + offset), LabelKind.VIRAL
                )


def _repeat_clickers(b: _Builder) -> None:
    for index in range(5):
        target = b.broadcast(f"clicker-{index}", b.random.randint(300, 2000))
        reporter = f"clicker-user-{index}"
        begin = 200.0 + 300 * index
        for click in range(30):
            offset = begin + click * 6.0
            report = b.generator.clicker(target, Category.HARASSMENT, b.start + offset, reporter)
            b.add(offset, report, LabelKind.REPEAT_CLICKER)


def _coordinated(b: _Builder) -> None:
    for index in range(4):
        target = b.broadcast(f"brigade-{index}", b.random.randint(500, 5000))
        category = (Category.HATEFUL_CONDUCT, Category.HARASSMENT)[index % 2]
        begin = 300.0 + 350 * index
        reports = []
        for _ in range(25):
            offset = begin + b.random.uniform(0, 60)
            reports.append((offset, b.generator.coordinated(target, category, b.start + offset)))
        b.incident(f"brigade-{index}", LabelKind.COORDINATED, reports)


def _surges(b: _Builder) -> None:
    for index, category in enumerate(SURGE_CATEGORIES):
        viewers = round(math.exp(b.random.uniform(math.log(100), math.log(20_000))))
        target = b.broadcast(f"surge-{index}", viewers, REGIONS[index % 3])
        begin = 150.0 + 270 * index
        reports = []
        for _ in range(15):
            offset = begin + b.random.uniform(0, 30)
            reports.append((offset, b.generator.surge(target, category, b.start + offset)))
        b.incident(f"surge-{index}", LabelKind.SURGE, reports)


def _ramps(b: _Builder) -> None:
    """Rate x1 until ``begin``, climbing linearly to x2.5 over 300 s, then held."""
    for index, (viewers, category) in enumerate(
        ((200_000, Category.HARASSMENT), (300_000, Category.HATEFUL_CONDUCT))
    ):
        target = b.broadcast(f"ramp-{index}", viewers)
        base = b.generator.rates[category] * viewers
        begin = 300.0 + 150 * index

        def climb(at: float, begin: float = begin) -> float:
            return (1.0 + 1.5 * min(1.0, max(0.0, (at - begin) / 300.0))) / 2.5

        ramp = []
        for offset in b.arrivals(base * 2.5, 0.0, min(b.duration, begin + 1200.0), climb):
            report = b.generator.benign(target, category, b.start + offset)
            if offset < begin:
                b.add(offset, report, LabelKind.BACKGROUND)
            else:
                ramp.append((offset, report))
        b.incident(f"ramp-{index}", LabelKind.RAMP, ramp)


def _child_safety(b: _Builder, count: int = 4, first: float = 400.0, every: float = 330.0) -> None:
    """Single child-safety reports, by trusted flaggers and by credible viewers in turn."""
    for index in range(count):
        target = b.broadcast(f"cs-{index}", b.random.randint(50, 5000), REGIONS[index % 3])
        offset = first + every * index
        made = b.start + offset
        report = (
            b.generator.trusted_report(target, Category.CHILD_SAFETY, made)
            if index % 2 == 0
            else b.generator.credible_report(target, Category.CHILD_SAFETY, made)
        )
        b.incident(f"cs-{index}", LabelKind.CHILD_SAFETY, [(offset, report)], keep_reporter=True)


def _malformed(b: _Builder) -> None:
    for _ in range(20):
        offset = b.random.uniform(0, b.duration)
        at = b.start + offset
        b.messages.append(ScenarioMessage(at, at, b"garbage", b.generator.malformed()))


# The confounders: times are fractions of the run, so short test runs hold them too.


@dataclass(frozen=True, slots=True)
class _SurgeShape:
    """How a set of surges differs from fifteen credible viewers in thirty seconds."""

    late: bool = False
    first_skews: tuple[float, ...] = ()
    anonymous: int = 0
    """How many of the set (the first ones) come from reporters without a reporter object."""
    viewer_count_habits: tuple[ViewerCountHabit, ...] = ()
    """The habits of the set's first broadcasts (the others get the world's)."""


def _surge_set(b: _Builder, count: int, prefix: str, shape: _SurgeShape = _SurgeShape()) -> None:
    for index in range(count):
        viewers = round(_log_uniform(b, 100, 20_000))
        target = b.broadcast(f"{prefix}-{index}", viewers, REGIONS[index % 3])
        if index < len(shape.viewer_count_habits):
            b.viewer_count_habits[target.broadcast_id] = shape.viewer_count_habits[index]
        category = SURGE_CATEGORIES[index % len(SURGE_CATEGORIES)]
        begin = b.duration * (0.15 + 0.7 * index / count)
        reports = []
        for _ in range(15):
            offset = begin + b.random.uniform(0, 30)
            report = b.generator.surge(target, category, b.start + offset)
            if index < shape.anonymous:
                report.pop("reporter")
            reports.append((offset, report))
        lag = b.random.uniform(*b.world.distortions.delivery_lag_seconds) if shape.late else None
        skews = shape.first_skews
        b.incident(
            f"{prefix}-{index}",
            LabelKind.SURGE,
            reports,
            lag=lag,
            first_skew=skews[index] if index < len(skews) else None,
        )


def _single_child_safety(b: _Builder, count: int) -> None:
    _child_safety(b, count, first=b.duration * 0.2, every=b.duration * 0.6 / max(count, 1))


def _large_broadcasts(
    b: _Builder,
    count: int = 4,
    with_surge: int = 2,
    own_factor: tuple[float, float] = (1.5, 4.0),
    *,
    prefix: str = "large",
    audiences: tuple[int, int] = (150_000, 400_000),
    viewer_count_habits: tuple[ViewerCountHabit, ...] = (),
) -> None:
    """Very large audiences at their own steady rates (the platform's times ``own_factor``);
    on the first ``with_surge``, one category jumps to x10 of its current rate for three
    minutes. ``viewer_count_habits`` are the first broadcasts' (the others get the world's)."""
    for index in range(count):
        viewers = b.random.randint(*audiences)
        own = _log_uniform(b, *own_factor)
        target = b.broadcast(f"{prefix}-{index}", viewers, REGIONS[index % 3])
        if index < len(viewer_count_habits):
            b.viewer_count_habits[target.broadcast_id] = viewer_count_habits[index]
        for category, rate in b.generator.rates.items():
            for offset in b.organic(rate * own * viewers, 0.0, b.duration):
                report = b.generator.benign(target, category, b.start + offset)
                b.add(offset, report, LabelKind.VIRAL)
        if index >= with_surge:
            continue
        category = (Category.HARASSMENT, Category.HATEFUL_CONDUCT)[index % 2]
        begin = b.duration * (0.4 + 0.15 * index)
        end = min(b.duration, begin + 180.0)
        now = b.level(begin) * b.world.evening_rise
        extra = 9.0 * b.generator.rates[category] * own * viewers * now
        reports = [
            (offset, b.generator.surge(target, category, b.start + offset))
            for offset in b.arrivals(extra, begin, end)
        ]
        b.incident(f"{prefix}-surge-{index}", LabelKind.SURGE, reports)


def _raids(b: _Builder, count: int = 3) -> None:
    """An audience jumping 100x within a minute, reporting at the platform's rates."""
    for index in range(count):
        before = b.random.randint(500, 3000)
        peak = before * 100
        target = b.broadcast(f"raid-{index}", before, REGIONS[index % 3])
        raid_at = b.duration * (0.2 + 0.5 * index / count)

        def audience(at: float, before: int = before, raid_at: float = raid_at) -> float:
            progress = min(1.0, max(0.0, (at - raid_at) / 60.0))
            return before * math.pow(100.0, progress)

        def share(
            at: float, peak: int = peak, audience: Callable[[float], float] = audience
        ) -> float:
            return audience(at) / peak * b.level(at)

        for category, rate in b.generator.rates.items():
            ceiling = rate * peak * b.world.evening_rise
            for offset in b.arrivals(ceiling, 0.0, b.duration, share):
                report = b.generator.benign(target, category, b.start + offset)
                report["viewer_count"] = round(audience(offset))
                b.add(offset, report, LabelKind.RAID)


def _spread_surges(
    b: _Builder, count: int, prefix: str = "spread"
) -> list[tuple[Broadcast, float]]:
    """Credible viewers filing one broadcast under several categories; a quarter file twice."""
    targets = []
    for index in range(count):
        target = b.broadcast(f"{prefix}-{index}", round(_log_uniform(b, 200, 20_000)))
        begin = b.duration * (0.15 + 0.7 * index / count)
        reports = []
        for _ in range(16):
            offset = begin + b.random.uniform(0, 40)
            category = b.random.choice(SPREAD_CATEGORIES)
            report = b.generator.surge(target, category, b.start + offset)
            reports.append((offset, report))
            if b.random.random() < 0.25:
                again = offset + b.random.uniform(2.0, 10.0)
                other = b.random.choice([c for c in SPREAD_CATEGORIES if c is not category])
                second = b.generator.surge(target, other, b.start + again)
                second["reporter_id"], second["reporter"] = (
                    report["reporter_id"],
                    report["reporter"],
                )
                reports.append((again, second))
        b.incident(f"{prefix}-{index}", LabelKind.SPREAD_SURGE, reports)
        targets.append((target, reports[0][0]))
    return targets


def _campaigns(b: _Builder, count: int = 6) -> None:
    """Fresh, low-trust, non-viewing accounts over one to three minutes; every other
    campaign has three ordinary viewers of the broadcast reporting alongside.

    The campaign's reports keep their reporter object, whatever the world drops:
    the accounts' standing is what tells a campaign from viewers, and one run by a
    script comes from one client, not from a mix of old and new ones."""
    for index in range(count):
        target = b.broadcast(f"campaign-{index}", b.random.randint(500, 20_000))
        category = (Category.HATEFUL_CONDUCT, Category.HARASSMENT, Category.VIOLENT_THREAT)[
            index % 3
        ]
        begin = b.duration * (0.1 + 0.75 * index / count)
        span = b.random.uniform(60.0, 180.0)
        reports = []
        for _ in range(b.random.randint(25, 40)):
            offset = begin + b.random.uniform(0, span)
            reports.append((offset, b.generator.coordinated(target, category, b.start + offset)))
        if index % 2 == 1:
            for _ in range(3):
                offset = begin + b.random.uniform(0, span)
                report = b.generator.benign(target, category, b.start + offset)
                report["reporter"]["was_viewing"] = True
                reports.append((offset, report))
        b.incident(f"campaign-{index}", LabelKind.COORDINATED, reports, keep_reporter=True)


def _retry_storms(b: _Builder, count: int = 3) -> None:
    """A few ordinary viewers of a small broadcast whose clients resend each report often."""
    for index in range(count):
        target = b.broadcast(f"retry-{index}", b.random.randint(200, 2000))
        begin = b.duration * (0.2 + 0.6 * index / count)
        for _ in range(4):
            offset = begin + b.random.uniform(0, 30)
            report = b.generator.benign(target, Category.HARASSMENT, b.start + offset)
            b.add(offset, report, LabelKind.BACKGROUND, retries=b.random.randint(4, 6))


def _child_safety_on_spread(b: _Builder, targets: list[tuple[Broadcast, float]]) -> None:
    """A credible child-safety report on a broadcast already in a spread surge: a second team."""
    target, onset = targets[0]
    offset = onset + 60.0
    report = b.generator.credible_report(target, Category.CHILD_SAFETY, b.start + offset)
    b.incident(
        f"cs-on-{target.broadcast_id}",
        LabelKind.CHILD_SAFETY,
        [(offset, report)],
        keep_reporter=True,
    )


def _unmeasured_audiences(b: _Builder) -> None:
    """Broadcasts whose reports carry no ``viewer_count``, or only some of them: large ones
    (with and without a surge on top) reporting at their real audience's rates, and
    credible-viewer surges on small ones; the background's habits are the world's."""
    _large_broadcasts(
        b,
        count=4,
        with_surge=2,
        own_factor=(0.5, 2.0),
        prefix="unmeasured-large",
        audiences=(100_000, 400_000),
        viewer_count_habits=UNMEASURED_HABITS,
    )
    _surge_set(b, 4, "unmeasured-surge", _SurgeShape(viewer_count_habits=UNMEASURED_HABITS))


UNMEASURED_HABITS = (
    ViewerCountHabit.OMITTED,
    ViewerCountHabit.SOMETIMES,
    ViewerCountHabit.OMITTED,
    ViewerCountHabit.SOMETIMES,
)
"""The large broadcasts' and surges' habits in ``missing_viewer_count``: with a surge on
top, one that never sends ``viewer_count`` and one that sometimes does; the same without."""


def _real_world(b: _Builder) -> None:
    _background(b)
    _large_broadcasts(
        b,
        count=4,
        with_surge=2,
        own_factor=(0.5, 2.0),
        viewer_count_habits=(
            ViewerCountHabit.SENT,
            ViewerCountHabit.OMITTED,
            ViewerCountHabit.SENT,
            ViewerCountHabit.OMITTED,
        ),
    )
    _raids(b, count=2)
    _surge_set(b, 3, "surge", _SurgeShape(first_skews=(150.0,), anonymous=1))
    _surge_set(b, 2, "late-surge", _SurgeShape(late=True))
    _child_safety_on_spread(b, _spread_surges(b, 3))
    _campaigns(b, count=4)
    _retry_storms(b, count=2)
    _single_child_safety(b, 2)


_Part = Callable[[_Builder], object]
_CLASSIC_PARTS: dict[str, _Part] = {
    "background": _background,
    "viral": _viral,
    "surge": _surges,
    "ramp": _ramps,
    "child_safety": _child_safety,
    "repeat_clicker": _repeat_clickers,
    "coordinated": _coordinated,
    "malformed": _malformed,
}
CLASSIC_WORLD = World(duration=1800.0, background_rate=20.0, broadcasts=300)


def _with_background(*parts: _Part) -> _Part:
    def build(b: _Builder) -> None:
        _background(b)
        for part in parts:
            part(b)

    return build


def _surges_and_child_safety(b: _Builder) -> None:
    _surge_set(b, 4, "surge")
    _single_child_safety(b, 2)


CONFOUNDERS: dict[str, tuple[World, _Part]] = {
    "quiet_platform": (World(rate_factor=0.1), _with_background(_surges_and_child_safety)),
    "busy_platform": (World(rate_factor=10.0), _with_background(_surges_and_child_safety)),
    "evening_rise": (World(evening_rise=3.0), _with_background(_surges_and_child_safety)),
    "large_broadcasts": (World(), _with_background(_large_broadcasts)),
    "raids": (World(), _with_background(_raids, lambda b: _surge_set(b, 2, "surge"))),
    "spread_surges": (World(), _with_background(lambda b: _spread_surges(b, 5))),
    "anonymous_reporters": (
        World(distortions=Distortions(missing_reporter_share=0.5)),
        _with_background(lambda b: _surge_set(b, 4, "surge", _SurgeShape(anonymous=2))),
    ),
    "skewed_clocks": (
        World(distortions=Distortions(skewed_clock_share=0.3)),
        _with_background(
            lambda b: _surge_set(b, 4, "surge", _SurgeShape(first_skews=(150.0, 150.0, -60.0))),
            lambda b: _single_child_safety(b, 2),
        ),
    ),
    "late_delivery": (
        World(distortions=Distortions(late_share=0.25)),
        _with_background(lambda b: _surge_set(b, 4, "late-surge", _SurgeShape(late=True))),
    ),
    "retries": (
        World(distortions=Distortions(retry_share=0.15)),
        _with_background(_retry_storms, lambda b: _surge_set(b, 3, "surge")),
    ),
    "campaigns": (World(), _with_background(_campaigns, lambda b: _surge_set(b, 2, "surge"))),
    "missing_viewer_count": (
        World(
            distortions=Distortions(
                viewer_count_omitted_share=0.3, viewer_count_sometimes_share=0.2
            )
        ),
        _with_background(_unmeasured_audiences),
    ),
    "real_world": (
        World(
            background_rate=10.0,
            broadcasts=1500,
            rate_factor=3.0,
            evening_rise=3.0,
            distortions=Distortions(
                missing_reporter_share=0.2,
                skewed_clock_share=0.15,
                late_share=0.2,
                retry_share=0.05,
                viewer_count_omitted_share=0.15,
                viewer_count_sometimes_share=0.1,
            ),
        ),
        _real_world,
    ),
}

SCENARIOS = ("mixed", *_CLASSIC_PARTS, *CONFOUNDERS)


def build_scenario(
    name: str,
    *,
    seed: int = 7,
    start: float = SCENARIO_START,
    duration: float | None = None,
    background_rate: float | None = None,
    broadcasts: int | None = None,
) -> list[ScenarioMessage]:
    """The messages of scenario ``name`` in the order they reach Kafka.

    ``duration``, ``background_rate`` and ``broadcasts`` shrink (or grow) a
    scenario's world; the classic scenarios place their incidents at fixed times
    within their 30 minutes, the confounders at fractions of the run.
    """
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    world, build = CONFOUNDERS.get(name, (CLASSIC_WORLD, _classic(name)))
    world = replace(
        world,
        duration=world.duration if duration is None else duration,
        background_rate=world.background_rate if background_rate is None else background_rate,
        broadcasts=world.broadcasts if broadcasts is None else broadcasts,
    )
    generator = TrafficGenerator(
        rates=platform_rates(world.rate_factor, seed),
        broadcasts=world.broadcasts,
        rate_per_second=world.background_rate,
        seed=seed,
        prefix="bg",
    )
    b = _Builder(generator, start, world)
    build(b)
    b.messages.sort(key=lambda message: message.delivered_at)
    return b.messages


def _classic(name: str) -> _Part:
    def build(b: _Builder) -> None:
        for part, build_part in _CLASSIC_PARTS.items():
            if name in ("mixed", part):
                build_part(b)

    return build


def write_jsonl(messages: list[ScenarioMessage], sink: Any) -> int:
    """Write message values one a line (a JSON-lines report log); return the count.

    Malformed values are written as they are; none of them contains a newline.
    """
    for message in messages:
        sink.write(message.value + b"\n")
    return len(messages)
