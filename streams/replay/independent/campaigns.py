"""Coordinated false reporting: a burst of throwaway accounts against one broadcast.

Not abuse, and never to page: the accounts are new, untrusted and often not watching,
and they report within one to three minutes in one or two categories. On some, a few
genuine viewers join in (bandwagoning), which is why those reports carry the
campaign's label too: the campaign caused them.
"""

from __future__ import annotations

import math

from streams.replay.independent.broadcasts import Tier
from streams.replay.independent.criteria import IncidentTruth
from streams.replay.independent.events import Report
from streams.replay.independent.incidents import Stage
from streams.replay.independent.params import RUN_SECONDS
from streams.replay.labels import LabelKind

TARGETED = ("harassment", "hateful_conduct", "adult_content", "spam", "violent_threat", "copyright")


def campaign(stage: Stage, name: str) -> bool:
    rng = stage.rng
    for broadcast in stage.free(Tier.SMALL, Tier.POPULAR):
        earliest = max(broadcast.start + 60.0, 60.0)
        latest = min(broadcast.end, RUN_SECONDS) - 200.0
        if earliest > latest:
            continue
        onset = rng.uniform(earliest, latest)
        if 50.0 <= broadcast.viewers(onset) <= 5000.0:
            break
    else:
        return False
    accounts = rng.randint(15, 60)
    fresh = math.ceil(accounts * rng.uniform(0.75, 0.9))
    cats = tuple(rng.sample(TARGETED, rng.randint(1, 2)))
    span = rng.uniform(60.0, 180.0)
    people = [stage.people.campaign_account(fresh=i < fresh) for i in range(accounts)]
    joiners = stage.people.distinct(rng.randint(2, 4), set()) if rng.random() < 0.5 else []
    times = [onset] + [onset + span * rng.random() for _ in range(accounts + len(joiners) - 1)]
    for i, (person, at) in enumerate(zip(people + joiners, times, strict=True)):
        viewing = True if i >= accounts else rng.random() < person.viewing_share
        stage.reports.append(
            Report(
                at, broadcast, person, rng.choice(cats), LabelKind.COORDINATED, name, onset, viewing
            )
        )
    broadcast.role = name
    stage.truths.append(IncidentTruth(name, LabelKind.COORDINATED, broadcast.id, cats, onset, 0.0))
    return True
