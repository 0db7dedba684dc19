"""Named, labelled traffic scenarios for ``spikewatch produce`` and ``spikewatch replay``.

A scenario is a time-ordered list of messages, each the exact bytes a producer
would send. Valid reports carry a ``label`` field (``kind`` and, for incidents,
``incident``): the decoder ignores it as an unknown extra field, so the same log
drives the live worker and lets replay score the decisions against the truth.

What the ``mixed`` scenario holds, and why each part is there:

* background broadcasts with log-normal audiences at exactly the policy's base
  rates (must page nobody);
* viral broadcasts with hundreds of thousands of viewers reporting at the base
  rate (many reports, all normal for the audience: must page nobody);
* repeat clickers: one viewer clicking report thirty times (one signal: no page);
* coordinated bursts: fresh, low-trust, non-viewing accounts in a minute (must be
  classed ``coordinated_reporting``, never paged as abuse);
* abuse surges: fifteen credible viewers of a small or mid-sized broadcast within
  thirty seconds;
* slow ramps: a large broadcast whose report rate climbs to 2.5 times its
  baseline over five minutes and stays there (what a burst detector misses);
* single trusted child-safety reports (must page at once);
* malformed messages (must be dead-lettered, and change nothing else).

Everything is drawn from one seeded generator: the same name and seed give the
same bytes, so replay figures are reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from alerting.policy import Policy
from models.errors import SpikewatchError
from models.report import Category, Platform
from streams.replay.scoring import LabelKind
from streams.replay.traffic import Broadcast, TrafficGenerator

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


class ScenarioError(SpikewatchError):
    """An unknown scenario name; the message lists the known ones."""


@dataclass(frozen=True, slots=True)
class ScenarioMessage:
    """One message: event time (for ordering), the Kafka key and the value bytes."""

    at: float
    key: bytes | None
    value: bytes


@dataclass(slots=True)
class _Builder:
    generator: TrafficGenerator
    start: float
    messages: list[ScenarioMessage] = field(default_factory=list)

    @property
    def random(self) -> random.Random:
        return self.generator.random

    def add(
        self, offset: float, report: dict[str, Any], kind: LabelKind, incident: str = ""
    ) -> None:
        label: dict[str, str] = {"kind": kind.value}
        if incident:
            label["incident"] = incident
        report["label"] = label
        self.messages.append(
            ScenarioMessage(
                self.start + offset, report["broadcast_id"].encode(), orjson.dumps(report)
            )
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


def _background(b: _Builder, duration: float, rate: float) -> None:
    for index in range(int(duration * rate)):
        offset = index / rate
        b.add(offset, b.generator.background(b.start + offset), LabelKind.BACKGROUND)


def _viral(b: _Builder, duration: float, policy: Policy) -> None:
    for index, viewers in enumerate((250_000, 500_000, 900_000)):
        target = b.broadcast(f"viral-{index}", viewers, REGIONS[index % 3])
        for category in Category:
            rate = policy.category(category).base_rate_per_viewer_second * viewers
            for offset in b.arrivals(rate, 0.0, duration):
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
        for _ in range(25):
            offset = begin + b.random.uniform(0, 60)
            report = b.generator.coordinated(target, category, b.start + offset)
            b.add(offset, report, LabelKind.COORDINATED, f"brigade-{index}")


def _surges(b: _Builder) -> None:
    for index, category in enumerate(SURGE_CATEGORIES):
        viewers = round(math.exp(b.random.uniform(math.log(100), math.log(20_000))))
        target = b.broadcast(f"surge-{index}", viewers, REGIONS[index % 3])
        begin = 150.0 + 270 * index
        for _ in range(15):
            offset = begin + b.random.uniform(0, 30)
            b.add(
                offset,
                b.generator.surge(target, category, b.start + offset),
                LabelKind.SURGE,
                f"surge-{index}",
            )


def _ramps(b: _Builder, duration: float, policy: Policy) -> None:
    """Rate x1 until ``begin``, climbing linearly to x2.5 over 300 s, then held."""
    for index, (viewers, category) in enumerate(
        ((200_000, Category.HARASSMENT), (300_000, Category.HATEFUL_CONDUCT))
    ):
        target = b.broadcast(f"ramp-{index}", viewers)
        base = policy.category(category).base_rate_per_viewer_second * viewers
        begin = 300.0 + 150 * index

        def climb(at: float, begin: float = begin) -> float:
            return (1.0 + 1.5 * min(1.0, max(0.0, (at - begin) / 300.0))) / 2.5

        for offset in b.arrivals(base * 2.5, 0.0, min(duration, begin + 1200.0), climb):
            report = b.generator.benign(target, category, b.start + offset)
            if offset < begin:
                b.add(offset, report, LabelKind.BACKGROUND)
            else:
                b.add(offset, report, LabelKind.RAMP, f"ramp-{index}")


def _child_safety(b: _Builder) -> None:
    for index in range(4):
        target = b.broadcast(f"cs-{index}", b.random.randint(50, 5000), REGIONS[index % 3])
        offset = 400.0 + 330 * index
        report = b.generator.trusted_report(target, Category.CHILD_SAFETY, b.start + offset)
        b.add(offset, report, LabelKind.CHILD_SAFETY, f"cs-{index}")


def _malformed(b: _Builder, duration: float) -> None:
    for _ in range(20):
        offset = b.random.uniform(0, duration)
        b.messages.append(ScenarioMessage(b.start + offset, b"garbage", b.generator.malformed()))


SCENARIOS = (
    "mixed",
    "background",
    "viral",
    "surge",
    "ramp",
    "child_safety",
    "repeat_clicker",
    "coordinated",
    "malformed",
)


def build_scenario(
    name: str,
    policy: Policy,
    *,
    seed: int = 7,
    duration: float = 1800.0,
    start: float = SCENARIO_START,
    background_rate: float = 20.0,
) -> list[ScenarioMessage]:
    """The messages of scenario ``name`` in event-time order."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    generator = TrafficGenerator(
        policy, broadcasts=300, rate_per_second=background_rate, seed=seed, prefix="bg"
    )
    b = _Builder(generator, start)
    parts: dict[str, Callable[[], None]] = {
        "background": lambda: _background(b, duration, background_rate),
        "viral": lambda: _viral(b, duration, policy),
        "surge": lambda: _surges(b),
        "ramp": lambda: _ramps(b, duration, policy),
        "child_safety": lambda: _child_safety(b),
        "repeat_clicker": lambda: _repeat_clickers(b),
        "coordinated": lambda: _coordinated(b),
        "malformed": lambda: _malformed(b, duration),
    }
    for part, build in parts.items():
        if name in ("mixed", part):
            build()
    b.messages.sort(key=lambda message: message.at)
    return b.messages


def write_jsonl(messages: list[ScenarioMessage], sink: Any) -> int:
    """Write message values one a line (a JSON-lines report log); return the count.

    Malformed values are written as they are; none of them contains a newline.
    """
    for message in messages:
        sink.write(message.value + b"\n")
    return len(messages)
