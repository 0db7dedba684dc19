"""Ordinary reporting: what viewers report when nothing in particular is happening.

Reports arrive as a self-exciting process. Background reports come at the broadcast's
rate (platform rate x the broadcast's own multiplier x its mood x its audience), and
each report sets off a few more within the next half minute or so (someone says
"report this" in chat). How many depends on the audience: a report on a busy chat has
up to ``BRANCHING`` direct followers on average, one on a broadcast of a few dozen
viewers almost none (there is hardly anyone to persuade, and a cascade there would
look like abuse, not background). Immigrants run at ``1 - branching`` of the target
rate so that, followers included, the platform's rate is the drawn one, while reports
still come in small clusters.
"""

from __future__ import annotations

import random

from streams.replay.independent.broadcasts import Broadcast, Tier
from streams.replay.independent.events import Report
from streams.replay.independent.params import STEP_SECONDS, STEPS, PlatformRates, poisson
from streams.replay.independent.people import People
from streams.replay.labels import LabelKind

BRANCHING = 0.35
HALF_CONTAGIOUS_AUDIENCE = 300.0
FOLLOWER_DELAY_SECONDS = 30.0
FOLLOWER_SAME_CATEGORY = 0.7
FLAGGER_SHARE = 0.002
CHILD_SAFETY = "child_safety"


def ordinary_kind(broadcast: Broadcast) -> LabelKind:
    """What an ordinary report on this broadcast is: its audience explains it."""
    if broadcast.tier is Tier.HUGE:
        return LabelKind.VIRAL
    if broadcast.raid_at is not None:
        return LabelKind.RAID
    return LabelKind.BACKGROUND


def _category(rng: random.Random, broadcast: Broadcast) -> str:
    return rng.choices(list(broadcast.mix), list(broadcast.mix.values()))[0]


def _report(
    rng: random.Random, people: People, broadcast: Broadcast, at: float, category: str
) -> Report:
    person = people.ordinary()
    if category != CHILD_SAFETY and rng.random() < FLAGGER_SHARE:
        person = people.flagger()
    viewing = rng.random() < person.viewing_share
    return Report(at, broadcast, person, category, ordinary_kind(broadcast), viewing=viewing)


def branching(viewers: float) -> float:
    return BRANCHING * viewers / (viewers + HALF_CONTAGIOUS_AUDIENCE)


def _immigrant_times(rng: random.Random, rates: PlatformRates, broadcast: Broadcast) -> list[float]:
    times: list[float] = []
    for step in range(STEPS):
        begin = max(step * STEP_SECONDS, broadcast.start)
        end = min((step + 1) * STEP_SECONDS, broadcast.end)
        if end <= begin:
            continue
        mid = (begin + end) / 2
        intensity = (
            rates.at(mid)
            * broadcast.multiplier
            * broadcast.mood[step]
            * broadcast.audience[step]
            * (1.0 - branching(broadcast.audience[step]))
        )
        times.extend(
            rng.uniform(begin, end) for _ in range(poisson(rng, intensity * (end - begin)))
        )
    return sorted(times)


def broadcast_reports(
    rng: random.Random, rates: PlatformRates, people: People, broadcast: Broadcast
) -> list[Report]:
    """One broadcast's ordinary reports, followers included, in order of making."""
    pending = [(at, _category(rng, broadcast)) for at in _immigrant_times(rng, rates, broadcast)]
    reports: list[Report] = []
    while pending:
        at, category = pending.pop()
        reports.append(_report(rng, people, broadcast, at, category))
        for _ in range(poisson(rng, branching(broadcast.viewers(at)))):
            later = at + rng.expovariate(1.0 / FOLLOWER_DELAY_SECONDS)
            if not broadcast.live(later):
                continue
            same = rng.random() < FOLLOWER_SAME_CATEGORY
            pending.append((later, category if same else _category(rng, broadcast)))
    reports.sort(key=lambda r: r.made)
    return reports


def repeat_clicker(rng: random.Random, people: People, broadcast: Broadcast) -> list[Report]:
    """One person reporting an ordinary broadcast 10-30 times over a few minutes; the
    broadcast must be live for at least six minutes."""
    person = people.ordinary()
    clicks = rng.randint(10, 30)
    span = rng.uniform(60.0, 300.0)
    first = rng.uniform(broadcast.start + 30.0, broadcast.end - span)
    category = rng.choice(("spam", "harassment", "other", "hateful_conduct", "copyright"))
    times = sorted(first + span * rng.random() ** 1.5 for _ in range(clicks))
    broadcast.role = "repeat_clicker"
    return [
        Report(
            at,
            broadcast,
            person,
            category if rng.random() < 0.85 else _category(rng, broadcast),
            LabelKind.REPEAT_CLICKER,
        )
        for at in times
    ]
