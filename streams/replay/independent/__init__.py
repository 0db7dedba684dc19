"""A labelled-traffic generator written apart from the detector and its own generator.

The detector was tuned on traffic from ``streams.replay.scenarios``; this
package was written from the input contract (ReportEvent v1 and the label format) and
the product requirements alone, so that the detector can be scored on traffic it was
never shaped around. Its mechanisms differ on purpose: audiences walk and drift,
communities switch between calm and heated moods, reports set off more reports,
confounders stick to people (clocks, apps, connections) rather than to reports.

:func:`build_world` also returns the ground truth (rates drawn, incidents meant) for
the tests; :func:`build_independent` is what replay consumes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from streams.replay.independent.broadcasts import Broadcast, Tier, draw_broadcasts, raid
from streams.replay.independent.campaigns import campaign
from streams.replay.independent.criteria import Flavour, IncidentTruth
from streams.replay.independent.events import Report, encode
from streams.replay.independent.incidents import (
    Stage,
    child_safety,
    large_surge,
    ramp,
    small_surge,
)
from streams.replay.independent.organic import broadcast_reports, repeat_clicker
from streams.replay.independent.params import (
    STEP_SECONDS,
    STEPS,
    PlatformRates,
    draw_rates,
)
from streams.replay.independent.people import People
from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import ScenarioMessage

INDEPENDENT_SCENARIOS: tuple[str, ...] = ("independent",)
SURGE_FLAVOURS = (Flavour.CLOCK_AHEAD, Flavour.NO_REPORTER, Flavour.LATE, Flavour.NO_VIEWER_COUNT)


@dataclass(frozen=True, slots=True)
class World:
    """One seed's traffic with the truth behind it."""

    seed: int
    start: float
    rates: PlatformRates
    broadcasts: list[Broadcast]
    truths: list[IncidentTruth]
    messages: list[ScenarioMessage]

    def viewer_seconds(self) -> float:
        return sum(
            b.audience[s]
            * max(0.0, min((s + 1) * STEP_SECONDS, b.end) - max(s * STEP_SECONDS, b.start))
            for b in self.broadcasts
            for s in range(STEPS)
        )


def _raids(rng: random.Random, broadcasts: list[Broadcast]) -> None:
    candidates = [
        b
        for b in broadcasts
        if b.tier is Tier.SMALL
        and 30.0 <= b.audience[12] <= 400.0
        and max(b.start + 120.0, 120.0) < min(b.end - 180.0, 700.0)
    ]
    for broadcast in rng.sample(candidates, rng.randint(1, 3)):
        raid(rng, broadcast)


def _clickers(rng: random.Random, people: People, broadcasts: list[Broadcast]) -> list[Report]:
    candidates = [
        b for b in broadcasts if not b.role and b.tier is not Tier.HUGE and b.end - b.start >= 360.0
    ]
    reports: list[Report] = []
    for broadcast in rng.sample(candidates, rng.randint(2, 4)):
        reports += repeat_clicker(rng, people, broadcast)
    return reports


def _incidents(stage: Stage, seed: int) -> None:
    """8-15 abuse incidents and 2-4 campaigns; the four awkward surges come first so
    that every seed has each of them."""
    rng = stage.rng
    names = iter(f"independent-{seed}-{n}" for n in range(1000))
    for flavour in SURGE_FLAVOURS:
        small_surge(stage, f"{next(names)}-surge", flavour, spread=False)
    large_surge(stage, f"{next(names)}-surge")
    for _ in range(rng.randint(0, 2)):
        small_surge(stage, f"{next(names)}-surge", Flavour.PLAIN, spread=False)
    for _ in range(rng.randint(2, 3)):
        small_surge(stage, f"{next(names)}-spread", Flavour.PLAIN, spread=True)
    for _ in range(rng.randint(1, 2)):
        ramp(stage, f"{next(names)}-ramp")
    surges = [
        t for t in stage.truths if t.kind is LabelKind.SURGE and t.flavour is not Flavour.LARGE
    ]
    if surges:
        child_safety(stage, f"{next(names)}-child-safety", rng.choice(surges))
    for _ in range(rng.randint(1, 2)):
        child_safety(stage, f"{next(names)}-child-safety", None)
    for _ in range(rng.randint(2, 4)):
        campaign(stage, f"{next(names)}-campaign")


def build_world(seed: int, start: float) -> World:
    rng = random.Random(f"independent:{seed}")
    rates = draw_rates(rng)
    broadcasts = draw_broadcasts(rng, rates)
    people = People(rng)
    _raids(rng, broadcasts)
    ordinary = {b.id: broadcast_reports(rng, rates, people, b) for b in broadcasts}
    clicks = _clickers(rng, people, broadcasts)
    stage = Stage(rng, rates, people, broadcasts, ordinary)
    _incidents(stage, seed)
    reports = [r for rs in ordinary.values() for r in rs] + clicks + stage.reports
    reports.sort(key=lambda r: r.made)
    truths = [
        replace(
            t,
            onset=start + t.onset,
            plateau=None if t.plateau is None else (start + t.plateau[0], start + t.plateau[1]),
            within=None if t.within is None else start + t.within,
        )
        for t in stage.truths
    ]
    return World(seed, start, rates, broadcasts, truths, encode(rng, reports, start))


def build_independent(name: str, *, seed: int, start: float) -> list[ScenarioMessage]:
    """The ``independent`` scenario: 15 minutes of a platform with every confounder at
    once, sorted by when each record reached Kafka."""
    if name not in INDEPENDENT_SCENARIOS:
        raise ValueError(f"unknown independent scenario {name!r}; known: {INDEPENDENT_SCENARIOS}")
    return build_world(seed, start).messages


__all__ = ["INDEPENDENT_SCENARIOS", "World", "build_independent", "build_world"]
