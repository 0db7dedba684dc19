"""The platform-wide figures one seed draws: how much its viewers report, in which
categories, and how that climbs through the evening.

The rate band is the product's requirement (it must work anywhere in it), so the rate
is drawn log-uniformly across the whole band rather than around a favourite value.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from models.report import Category

RUN_SECONDS = 900.0
STEP_SECONDS = 10.0
STEPS = int(RUN_SECONDS / STEP_SECONDS)
RATE_BAND = (2e-7, 2e-5)
"""Reports per viewer-second summed over all categories: the product must hold anywhere here."""

PAGING_CATEGORIES: tuple[str, ...] = (
    Category.VIOLENT_THREAT.value,
    Category.GRAPHIC_VIOLENCE.value,
    Category.SELF_HARM.value,
    Category.ADULT_CONTENT.value,
    Category.HATEFUL_CONDUCT.value,
    Category.HARASSMENT.value,
    Category.PRIVATE_INFO.value,
    Category.VIOLENT_EXTREMISM.value,
)

CENTRAL_MIX: dict[str, float] = {
    Category.SPAM.value: 0.315,
    Category.HARASSMENT.value: 0.17,
    Category.OTHER.value: 0.16,
    Category.COPYRIGHT.value: 0.10,
    Category.HATEFUL_CONDUCT.value: 0.07,
    Category.ADULT_CONTENT.value: 0.06,
    Category.PRIVATE_INFO.value: 0.04,
    Category.VIOLENT_THREAT.value: 0.03,
    Category.GRAPHIC_VIOLENCE.value: 0.03,
    Category.SELF_HARM.value: 0.015,
    Category.VIOLENT_EXTREMISM.value: 0.006,
    Category.CHILD_SAFETY.value: 0.004,
}
"""Where a typical platform's organic reports go; each seed wobbles around it."""

MIX_SPREAD = 0.35
"""Log-normal spread of each category's share between seeds (about x/÷1.4)."""

EVENING_SEED_SHARE = 0.45
"""Share of seeds whose run falls in the evening climb (rate rising up to 3x)."""


@dataclass(frozen=True, slots=True)
class PlatformRates:
    """``rate`` is the total per viewer-second at the start; it climbs linearly to
    ``rate * evening`` at the end of the run."""

    rate: float
    evening: float
    mix: dict[str, float]

    def at(self, offset: float) -> float:
        return self.rate * (1.0 + (self.evening - 1.0) * offset / RUN_SECONDS)


def draw_rates(rng: random.Random) -> PlatformRates:
    low, high = RATE_BAND
    rate = math.exp(rng.uniform(math.log(low), math.log(high)))
    evening_seed = rng.random() < EVENING_SEED_SHARE
    evening = rng.uniform(1.8, 3.0) if evening_seed else rng.uniform(1.0, 1.3)
    wobbled = {c: share * math.exp(rng.gauss(0.0, MIX_SPREAD)) for c, share in CENTRAL_MIX.items()}
    total = sum(wobbled.values())
    return PlatformRates(rate, evening, {c: share / total for c, share in wobbled.items()})


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for the small means that dominate; a normal beyond them."""
    if mean <= 0.0:
        return 0
    if mean > 50.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))
