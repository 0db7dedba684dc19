"""The classic ``mixed`` scenario and each of its parts by name, 30 minutes at the
reference rates, every incident at a fixed time within them:

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
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from models.report import Category
from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import (
    REGIONS,
    SURGE_CATEGORIES,
    Part,
    ScenarioBuilder,
    ScenarioMessage,
    World,
)


def background(b: ScenarioBuilder) -> None:
    rate = b.world.background_rate
    if b.world.evening_rise == 1.0:
        offsets: Iterator[float] = (index / rate for index in range(int(b.duration * rate)))
    else:
        offsets = b.organic(rate, 0.0, b.duration)
    for offset in offsets:
        b.add(offset, b.generator.background(b.start + offset), LabelKind.BACKGROUND)


def viral(b: ScenarioBuilder) -> None:
    for index, viewers in enumerate((250_000, 500_000, 900_000)):
        target = b.broadcast(f"viral-{index}", viewers, REGIONS[index % 3])
        for category, rate in b.generator.rates.items():
            for offset in b.arrivals(rate * viewers, 0.0, b.duration):
                b.add(
                    offset, b.generator.benign(target, category, b.start + offset), LabelKind.VIRAL
                )


def repeat_clickers(b: ScenarioBuilder) -> None:
    for index in range(5):
        target = b.broadcast(f"clicker-{index}", b.random.randint(300, 2000))
        reporter = f"clicker-user-{index}"
        begin = 200.0 + 300 * index
        for click in range(30):
            offset = begin + click * 6.0
            report = b.generator.clicker(target, Category.HARASSMENT, b.start + offset, reporter)
            b.add(offset, report, LabelKind.REPEAT_CLICKER)


def coordinated(b: ScenarioBuilder) -> None:
    for index in range(4):
        target = b.broadcast(f"brigade-{index}", b.random.randint(500, 5000))
        category = (Category.HATEFUL_CONDUCT, Category.HARASSMENT)[index % 2]
        begin = 300.0 + 350 * index
        reports = []
        for _ in range(25):
            offset = begin + b.random.uniform(0, 60)
            reports.append((offset, b.generator.coordinated(target, category, b.start + offset)))
        b.incident(f"brigade-{index}", LabelKind.COORDINATED, reports)


def surges(b: ScenarioBuilder) -> None:
    for index, category in enumerate(SURGE_CATEGORIES):
        viewers = round(math.exp(b.random.uniform(math.log(100), math.log(20_000))))
        target = b.broadcast(f"surge-{index}", viewers, REGIONS[index % 3])
        begin = 150.0 + 270 * index
        reports = []
        for _ in range(15):
            offset = begin + b.random.uniform(0, 30)
            reports.append((offset, b.generator.surge(target, category, b.start + offset)))
        b.incident(f"surge-{index}", LabelKind.SURGE, reports)


def ramps(b: ScenarioBuilder) -> None:
    """Rate x1 until ``begin``, climbing linearly to x2.5 over 300 s, then held."""
    for index, (viewers, category) in enumerate(
        ((200_000, Category.HARASSMENT), (300_000, Category.HATEFUL_CONDUCT))
    ):
        target = b.broadcast(f"ramp-{index}", viewers)
        base = b.generator.rates[category] * viewers
        begin = 300.0 + 150 * index

        def climb(at: float, begin: float = begin) -> float:
            return (1.0 + 1.5 * min(1.0, max(0.0, (at - begin) / 300.0))) / 2.5

        b.ramp(
            f"ramp-{index}",
            target,
            category,
            peak=base * 2.5,
            shape=climb,
            begin=begin,
            end=min(b.duration, begin + 1200.0),
            before=LabelKind.BACKGROUND,
        )


def child_safety(
    b: ScenarioBuilder, count: int = 4, first: float = 400.0, every: float = 330.0
) -> None:
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


def malformed(b: ScenarioBuilder) -> None:
    for _ in range(20):
        offset = b.random.uniform(0, b.duration)
        at = b.start + offset
        b.messages.append(ScenarioMessage(at, at, b"garbage", b.generator.malformed()))


CLASSIC_PARTS: dict[str, Part] = {
    "background": background,
    "viral": viral,
    "surge": surges,
    "ramp": ramps,
    "child_safety": child_safety,
    "repeat_clicker": repeat_clickers,
    "coordinated": coordinated,
    "malformed": malformed,
}
CLASSIC_WORLD = World(duration=1800.0, background_rate=20.0, broadcasts=300)


def classic(name: str) -> Part:
    """The classic scenario ``name``: one of the parts, or ``mixed``, all of them."""

    def build(b: ScenarioBuilder) -> None:
        for part, build_part in CLASSIC_PARTS.items():
            if name in ("mixed", part):
                build_part(b)

    return build
