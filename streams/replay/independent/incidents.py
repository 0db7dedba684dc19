"""Abuse incidents: surges of genuine viewers, surges spread over several categories,
slow ramps on large broadcasts, and single credible child-safety reports.

Each is sized against what its broadcast ordinarily produces (expected, and as the
ordinary reports already drawn actually fell), so that it meets
:mod:`~streams.replay.independent.criteria` by construction, whatever the seed's rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.replay.independent.broadcasts import Broadcast, Tier, ViewerMode
from streams.replay.independent.criteria import Flavour, IncidentTruth
from streams.replay.independent.events import Report
from streams.replay.independent.params import PAGING_CATEGORIES, RUN_SECONDS, PlatformRates
from streams.replay.independent.people import People, Person
from streams.replay.labels import LabelKind

MAX_INCIDENT_REPORTS = 1500
SMALL_AUDIENCE = (100.0, 20_000.0)


@dataclass(slots=True)
class Stage:
    """What incidents are drawn against: the world so far, and what they add to it."""

    rng: random.Random
    rates: PlatformRates
    people: People
    broadcasts: list[Broadcast]
    ordinary: dict[str, list[Report]]
    reports: list[Report] = field(default_factory=list)
    truths: list[IncidentTruth] = field(default_factory=list)

    def free(self, *tiers: Tier) -> list[Broadcast]:
        chosen = [b for b in self.broadcasts if not b.role and b.tier in tiers]
        self.rng.shuffle(chosen)
        return chosen

    def first_ordinary(self, broadcast: Broadcast) -> float | None:
        reports = self.ordinary[broadcast.id]
        return reports[0].made if reports else None

    def observed(
        self, broadcast: Broadcast, cats: tuple[str, ...], begin: float, end: float
    ) -> int:
        return sum(
            1 for r in self.ordinary[broadcast.id] if r.category in cats and begin <= r.made < end
        )


def _busiest_minute(stage: Stage, broadcast: Broadcast, cats: tuple[str, ...], end: float) -> int:
    """Most ordinary reports in ``cats`` in any minute of the five before ``end``."""
    times = [
        r.made
        for r in stage.ordinary[broadcast.id]
        if r.category in cats and end - 300.0 <= r.made < end
    ]
    return max((sum(1 for t in times if s <= t < s + 60.0) for s in times), default=0)


def _surge_site(stage: Stage, flavour: Flavour) -> tuple[Broadcast, float] | None:
    """A small or mid broadcast live a while, with ordinary reports before the onset.

    At the bottom of the rate band few broadcasts have been reported at all; when none
    of those that never send ``viewer_count`` has, one that has is chosen, and
    :func:`small_surge` makes it never send it (its whole log, so it stays consistent)."""
    site = _reported_site(stage, never_sends=flavour is Flavour.NO_VIEWER_COUNT)
    if site is None and flavour is Flavour.NO_VIEWER_COUNT:
        return _reported_site(stage, never_sends=False)
    return site


def _reported_site(stage: Stage, *, never_sends: bool) -> tuple[Broadcast, float] | None:
    for broadcast in stage.free(Tier.SMALL, Tier.POPULAR):
        if never_sends and broadcast.viewer_mode is not ViewerMode.NEVER:
            continue
        first = stage.first_ordinary(broadcast)
        if first is None:
            continue
        earliest = max(broadcast.start + 150.0, 150.0, first + 20.0)
        latest = min(broadcast.end, RUN_SECONDS) - 200.0
        if earliest > latest:
            continue
        onset = stage.rng.uniform(earliest, latest)
        if SMALL_AUDIENCE[0] <= broadcast.viewers(onset) <= SMALL_AUDIENCE[1]:
            return broadcast, onset
    return None


def _first_minute_size(
    stage: Stage, broadcast: Broadcast, onset: float, cats: tuple[str, ...]
) -> tuple[int, float] | None:
    """Reporters in the first minute (>= 9x the ordinary, >= 12), and the expected
    ordinary count; None when that would be more of the audience than is plausible."""
    expected = broadcast.expected(stage.rates, onset, onset + 60.0, cats)
    ordinary = max(
        expected,
        stage.observed(broadcast, cats, onset, onset + 60.0),
        _busiest_minute(stage, broadcast, cats, onset),
    )
    size = max(stage.rng.randint(12, 28), math.ceil(9.0 * ordinary))
    cap = min(600.0, max(20.0, 0.2 * broadcast.viewers(onset)))
    return (size, expected) if size <= cap else None


def _reporters(stage: Stage, count: int, flavour: Flavour) -> list[Person]:
    people = stage.people
    if flavour is Flavour.NO_REPORTER:
        chosen = [people.newcomer(sends_info=False) for _ in range(count)]
    else:
        chosen = people.distinct(count, set())
    if flavour is Flavour.CLOCK_AHEAD:
        chosen[0] = people.newcomer(skew=stage.rng.uniform(120.0, 180.0))
    return chosen


def small_surge(stage: Stage, name: str, flavour: Flavour, *, spread: bool) -> bool:
    """Genuine viewers reporting one broadcast at once, in one category or (spread)
    each in one of 2-4."""
    rng = stage.rng
    for _ in range(50):
        site = _surge_site(stage, flavour)
        if site is None:
            return False
        broadcast, onset = site
        if spread:
            paging = rng.sample(PAGING_CATEGORIES, rng.randint(1, 3))
            cats = (*paging, "other") if len(paging) < 2 or rng.random() < 0.6 else tuple(paging)
        else:
            cats = (rng.choice(PAGING_CATEGORIES),)
        sized = _first_minute_size(stage, broadcast, onset, cats)
        if sized is not None:
            break
    else:
        return False
    size, expected = sized
    kind = LabelKind.SPREAD_SURGE if spread else LabelKind.SURGE
    tail = round(size * rng.uniform(0.3, 1.0))
    strays = 0 if spread else rng.randint(0, 2)
    people = _reporters(stage, size + tail + strays, flavour)
    end = min(broadcast.end, RUN_SECONDS)
    times = [onset] + [onset + 60.0 * rng.random() ** 1.4 for _ in range(size - 1)]
    times += [onset + 60.0 + rng.expovariate(1 / 70.0) for _ in range(tail)]
    filed = [cats[i % len(cats)] if i < len(cats) else rng.choice(cats) for i in range(size + tail)]
    times += [onset + rng.uniform(5.0, 120.0) for _ in range(strays)]
    filed += ["other"] * strays
    for person, at, category in zip(people, times, filed, strict=True):
        if at < end:
            stage.reports.append(
                Report(
                    at,
                    broadcast,
                    person,
                    category,
                    kind,
                    name,
                    onset,
                    viewing=True,
                    backlog=flavour is Flavour.LATE,
                )
            )
    broadcast.role = name
    if flavour is Flavour.NO_VIEWER_COUNT:
        broadcast.viewer_mode = ViewerMode.NEVER
    stage.truths.append(IncidentTruth(name, kind, broadcast.id, cats, onset, expected, flavour))
    return True


def _affordable(rng: random.Random, cost: Callable[[str], float], limit: float) -> str:
    """A paging category whose incident stays within ``limit`` reports, else the cheapest."""
    order = rng.sample(PAGING_CATEGORIES, len(PAGING_CATEGORIES))
    for category in order:
        if cost(category) <= limit:
            return category
    return min(order, key=cost)


def large_surge(stage: Stage, name: str) -> bool:
    """On a huge broadcast: the category jumps >= 13x at once and holds 2.5-5 minutes."""
    rng = stage.rng
    free = stage.free(Tier.HUGE)
    if not free:
        return False
    broadcast = free[0]
    onset = rng.uniform(240.0, 560.0)
    duration = rng.uniform(150.0, 300.0)
    factor = rng.uniform(13.0, 20.0)

    def per_minute(category: str) -> float:
        expected = broadcast.expected(stage.rates, onset, onset + 60.0, (category,))
        history = stage.observed(broadcast, (category,), onset - 300.0, onset) / 5.0
        return max(expected, history)

    def cost(category: str) -> float:
        return max(15.0, factor * per_minute(category)) * duration / 60.0

    category = _affordable(rng, cost, MAX_INCIDENT_REPORTS)
    rate = math.ceil(max(15.0, factor * per_minute(category)))
    times = [onset]
    minute = 0
    while onset + 60.0 * minute < onset + duration:
        begin = onset + 60.0 * minute
        span = min(60.0, onset + duration - begin)
        count = round(rate * span / 60.0 * (1.0 if minute < 2 else 0.8 ** (minute - 1)))
        times += [begin + span * rng.random() for _ in range(count - (1 if minute == 0 else 0))]
        minute += 1
    for person, at in zip(stage.people.distinct(len(times), set()), times, strict=True):
        stage.reports.append(Report(at, broadcast, person, category, LabelKind.SURGE, name, onset))
    broadcast.role = name
    expected = broadcast.expected(stage.rates, onset, onset + 60.0, (category,))
    stage.truths.append(
        IncidentTruth(
            name,
            LabelKind.SURGE,
            broadcast.id,
            (category,),
            onset,
            max(expected, per_minute(category)),
            Flavour.LARGE,
        )
    )
    return True


def ramp(stage: Stage, name: str) -> bool:
    """On a 50k-400k broadcast, one category's reports climb for 5-10 minutes to 7-9x
    their ordinary rate and stay there. Each unit of the excess intensity's integral
    holds exactly one arrival (at a random point in it), so the climb is steady rather
    than left to a Poisson draw's luck, yet not clockwork."""
    rng = stage.rng
    reported = [
        (b, first)
        for b in stage.free(Tier.LARGE) + stage.free(Tier.HUGE)
        if (first := stage.first_ordinary(b)) is not None and first < 190.0
    ]
    if not reported:
        return False
    broadcast, first = reported[0]
    begin = rng.uniform(max(60.0, first + 10.0), 200.0)
    climb = rng.uniform(300.0, min(600.0, RUN_SECONDS - begin - 150.0))
    factor = rng.uniform(7.0, 9.0)
    top = begin + climb

    def base(category: str) -> float:
        return max(
            broadcast.rate(stage.rates, float(at), (category,))
            for at in range(int(top), int(RUN_SECONDS))
        )

    def cost(category: str) -> float:
        return max((factor - 1.0) * base(category), 4.0 / 60.0) * (RUN_SECONDS - top + climb / 2)

    category = _affordable(rng, cost, MAX_INCIDENT_REPORTS)
    excess = max((factor - 1.0) * base(category), 4.0 / 60.0)
    times: list[float] = []
    integral, unit = 0.0, 0
    target = rng.random()
    for second in range(int(begin), int(RUN_SECONDS)):
        step = excess * min(1.0, (second + 0.5 - begin) / climb)
        while integral + step >= target:
            times.append(second + (target - integral) / step)
            unit += 1
            target = unit + rng.random()
        integral += step
    if not times:
        return False
    onset = times[0]
    for person, at in zip(stage.people.distinct(len(times), set()), times, strict=True):
        stage.reports.append(Report(at, broadcast, person, category, LabelKind.RAMP, name, onset))
    broadcast.role = name
    stage.truths.append(
        IncidentTruth(
            name,
            LabelKind.RAMP,
            broadcast.id,
            (category,),
            onset,
            base(category) * 60.0,
            plateau=(top, RUN_SECONDS),
            climb_seconds=climb,
        )
    )
    return True


def _quiet_site(stage: Stage) -> tuple[Broadcast, float] | None:
    """A broadcast with nothing else going on, live two minutes and reported before."""
    for broadcast in stage.free(Tier.SMALL, Tier.POPULAR, Tier.LARGE):
        first = stage.first_ordinary(broadcast)
        if first is None:
            continue
        earliest = max(first, broadcast.start + 120.0) + 10.0
        latest = min(broadcast.end, RUN_SECONDS) - 10.0
        if earliest < latest:
            return broadcast, stage.rng.uniform(earliest, latest)
    return None


def child_safety(stage: Stage, name: str, within: IncidentTruth | None) -> bool:
    """A single report by a trusted flagger: alone on a quiet broadcast, or a minute or
    more into a surge."""
    rng = stage.rng
    if within is not None:
        broadcast = next(b for b in stage.broadcasts if b.id == within.broadcast_id)
        at = within.onset + rng.uniform(60.0, 150.0)
        if at >= min(broadcast.end, RUN_SECONDS) - 5.0:
            return False
    else:
        quiet = _quiet_site(stage)
        if quiet is None:
            return False
        broadcast, at = quiet
        broadcast.role = name
    stage.reports.append(
        Report(
            at, broadcast, stage.people.flagger(), "child_safety", LabelKind.CHILD_SAFETY, name, at
        )
    )
    stage.truths.append(
        IncidentTruth(
            name,
            LabelKind.CHILD_SAFETY,
            broadcast.id,
            ("child_safety",),
            at,
            0.0,
            within=None if within is None else within.onset,
        )
    )
    return True
