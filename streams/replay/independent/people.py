"""Who reports: a pool of ordinary viewers, a few trusted flaggers, and throwaway
accounts for campaigns.

A person carries their device with them: a wrong clock stays wrong by the same amount,
an app that does not send the reporter object never sends it, a flaky connection is
late often. That is what makes these confounders cluster by person, as they do on a
real platform, instead of being sprinkled over reports independently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from streams.replay.independent.params import log_uniform

POOL_SIZE = 150_000
SKEWED_SHARE = 0.13
SILENT_APP_SHARE = 0.2
FLAKY_SHARE = 0.15
REGIONS: tuple[tuple[str, int], ...] = (
    ("US", -300),
    ("US", -480),
    ("US", -360),
    ("GB", 0),
    ("BR", -180),
    ("DE", 60),
    ("FR", 60),
    ("ES", 60),
    ("MX", -360),
    ("IN", 330),
    ("JP", 540),
    ("TR", 180),
    ("ID", 420),
    ("SA", 180),
)


@dataclass(frozen=True, slots=True)
class Person:
    """``utc_offset_minutes`` is None when the device writes times in UTC."""

    id: str
    age_days: int
    trust: float
    trusted_flagger: bool
    sends_info: bool
    skew: float
    flaky: bool
    region: str | None
    utc_offset_minutes: int | None
    viewing_share: float


def _skew(rng: random.Random) -> float:
    if rng.random() >= SKEWED_SHARE:
        return 0.0
    magnitude = log_uniform(rng, 2.0, 300.0)
    return magnitude if rng.random() < 0.5 else -magnitude


def _age(rng: random.Random) -> int:
    if rng.random() < 0.1:
        return rng.randint(0, 30)
    return min(5000, round(log_uniform(rng, 30, 3000)))


def _place(rng: random.Random) -> tuple[str | None, int | None]:
    region, offset = rng.choice(REGIONS)
    local = rng.random() < 0.4
    return (region if rng.random() < 0.85 else None), (offset if local else None)


def _ordinary(rng: random.Random) -> Person:
    age = _age(rng)
    region, offset = _place(rng)
    return Person(
        id=f"v{rng.getrandbits(56):014x}",
        age_days=age,
        trust=round(rng.betavariate(2.0, 3.0) * 0.6 + 0.19 * min(1.0, age / 1500), 3),
        trusted_flagger=False,
        sends_info=rng.random() >= SILENT_APP_SHARE,
        skew=_skew(rng),
        flaky=rng.random() < FLAKY_SHARE,
        region=region,
        utc_offset_minutes=offset,
        viewing_share=0.92,
    )


class People:
    """Hands out people deterministically: the same seed meets the same people in the
    same order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._pool: dict[int, Person] = {}
        self._flaggers = [self._new_flagger() for _ in range(rng.randint(150, 300))]

    def ordinary(self) -> Person:
        """Someone from the viewing public: repeated draws meet the same people again."""
        index = self._rng.randrange(POOL_SIZE)
        person = self._pool.get(index)
        if person is None:
            person = self._pool[index] = _ordinary(self._rng)
        return person

    def distinct(self, count: int, taken: set[str]) -> list[Person]:
        """``count`` ordinary people not in ``taken`` (which it extends)."""
        chosen: list[Person] = []
        while len(chosen) < count:
            person = self.ordinary()
            if person.id not in taken:
                taken.add(person.id)
                chosen.append(person)
        return chosen

    def newcomer(self, *, sends_info: bool | None = None, skew: float | None = None) -> Person:
        """A viewer reporting for the first time, with the app or clock forced if asked."""
        person = _ordinary(self._rng)
        if sends_info is not None:
            person = replace(person, sends_info=sends_info)
        if skew is not None:
            person = replace(person, skew=skew)
        return person

    def flagger(self) -> Person:
        return self._rng.choice(self._flaggers)

    def campaign_account(self, *, fresh: bool) -> Person:
        """A throwaway account run from an emulator farm: untrusted, often not watching,
        clock synchronised; ``fresh`` ones are less than a week old."""
        rng = self._rng
        region, offset = _place(rng)
        return Person(
            id=f"v{rng.getrandbits(56):014x}",
            age_days=rng.randint(0, 6) if fresh else rng.randint(7, 90),
            trust=round(rng.uniform(0.0, 0.15), 3),
            trusted_flagger=False,
            sends_info=rng.random() < 0.9,
            skew=0.0,
            flaky=False,
            region=region,
            utc_offset_minutes=offset,
            viewing_share=0.35,
        )

    def _new_flagger(self) -> Person:
        rng = self._rng
        region, offset = _place(rng)
        return Person(
            id=f"v{rng.getrandbits(56):014x}",
            age_days=rng.randint(180, 3000),
            trust=round(rng.uniform(0.9, 0.99), 3),
            trusted_flagger=True,
            sends_info=True,
            skew=0.0,
            flaky=False,
            region=region,
            utc_offset_minutes=offset,
            viewing_share=1.0,
        )
