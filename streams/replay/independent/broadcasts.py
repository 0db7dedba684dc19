"""The broadcasts of one run: who is live when, how many watch, and how prone their
audience is to report.

Audiences follow a mean-reverting random walk in log space around a per-broadcast
trend, with a warm-up when a broadcast starts inside the run and a fade before it
ends. Small communities switch between a calm and a heated mood (a two-state Markov
chain), so their reporting comes in spells rather than at a constant rate; the
largest broadcasts average their moods out and vary only slowly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from models.report import Category
from streams.replay.independent.params import (
    RUN_SECONDS,
    STEP_SECONDS,
    STEPS,
    PlatformRates,
    log_uniform,
)

HEATED_FACTOR = 1.7
HEATED_SHARE = 0.12
HEATED_MEAN_SECONDS = 90.0
CALM_FACTOR = (1.0 - HEATED_SHARE * HEATED_FACTOR) / (1.0 - HEATED_SHARE)
"""Chosen so that the mood averages to 1 and the platform rate stays the drawn one."""

MULTIPLIER_CAP = 3.0
HUGE_AUDIENCE_TOTAL = 800_000.0
TILTABLE = tuple(c.value for c in Category if c is not Category.CHILD_SAFETY)
LANGUAGES = ("en", "en", "en", "es", "pt-BR", "de", "fr", "ja", "tr", "ar", "hi", "id")


class Tier(StrEnum):
    SMALL = "small"
    POPULAR = "popular"
    LARGE = "large"
    HUGE = "huge"


class ViewerMode(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    SOMETIMES = "sometimes"


@dataclass(slots=True)
class Broadcast:
    """``audience`` and ``mood`` hold one value per step of the run (zero when not live)."""

    id: str
    broadcaster_id: str | None
    tier: Tier
    start: float
    end: float
    audience: list[float]
    mood: list[float]
    multiplier: float
    mix: dict[str, float]
    viewer_mode: ViewerMode
    platform: str | None
    language: str | None
    raid_at: float | None = None
    role: str = ""
    """The one special thing happening to it (incident, campaign, clicker, raid), if any."""

    def live(self, at: float) -> bool:
        return self.start <= at < self.end

    def viewers(self, at: float) -> float:
        return self.audience[min(STEPS - 1, max(0, int(at // STEP_SECONDS)))]

    def rate(self, rates: PlatformRates, at: float, categories: tuple[str, ...]) -> float:
        """Expected ordinary reports per second in ``categories`` (all of them: organic
        and the reports they set off)."""
        if not self.live(at):
            return 0.0
        step = min(STEPS - 1, int(at // STEP_SECONDS))
        share = sum(self.mix[c] for c in categories)
        return rates.at(at) * self.multiplier * self.mood[step] * self.audience[step] * share

    def expected(
        self, rates: PlatformRates, begin: float, end: float, categories: tuple[str, ...]
    ) -> float:
        """Expected ordinary reports in ``categories`` over ``[begin, end)``, by the second."""
        total = 0.0
        at = begin
        while at < end:
            total += self.rate(rates, at + 0.5, categories) * min(1.0, end - at)
            at += 1.0
        return total


def _audience_size(rng: random.Random, tier: Tier) -> float:
    if tier is Tier.HUGE:
        return log_uniform(rng, 150_000, 400_000)
    if tier is Tier.LARGE:
        return log_uniform(rng, 50_000, 120_000)
    if tier is Tier.POPULAR:
        return log_uniform(rng, 1_000, 30_000)
    return min(8_000.0, max(5.0, math.exp(rng.gauss(math.log(70), 1.2))))


def _lifetime(rng: random.Random, tier: Tier) -> tuple[float, float]:
    if tier in (Tier.HUGE, Tier.LARGE):
        return 0.0, RUN_SECONDS
    if rng.random() < 0.6:
        return 0.0, min(RUN_SECONDS, rng.expovariate(1 / 1200))
    begin = rng.uniform(0.0, RUN_SECONDS - 60.0)
    return begin, min(RUN_SECONDS, begin + log_uniform(rng, 120, 3600))


def _audience(rng: random.Random, tier: Tier, start: float, end: float) -> list[float]:
    """Viewers per step: an Ornstein-Uhlenbeck walk of log-audience around a trend."""
    size = _audience_size(rng, tier)
    big = tier in (Tier.HUGE, Tier.LARGE)
    spread, reversion = (0.06, 600.0) if big else (0.25, 300.0)
    trend = rng.gauss(0.0, 0.1 if big else 0.3)
    fade = rng.uniform(0.5, 1.0)
    walk = rng.gauss(0.0, spread)
    audience: list[float] = []
    for step in range(STEPS):
        at = (step + 0.5) * STEP_SECONDS
        walk += -walk * STEP_SECONDS / reversion + spread * math.sqrt(
            2 * STEP_SECONDS / reversion
        ) * rng.gauss(0.0, 1.0)
        if not start <= at < end:
            audience.append(0.0)
            continue
        shape = math.exp(trend * at / RUN_SECONDS)
        if start > 0.0:
            shape *= min(1.0, 0.25 + 0.75 * (at - start) / 180.0)
        if end < RUN_SECONDS and end - at < 90.0:
            shape *= fade + (1.0 - fade) * (end - at) / 90.0
        audience.append(max(1.0, size * shape * math.exp(walk)))
    return audience


def _mood(rng: random.Random, tier: Tier) -> list[float]:
    if tier in (Tier.HUGE, Tier.LARGE):
        period = rng.uniform(600.0, 1800.0)
        phase = rng.uniform(0.0, 2 * math.pi)
        return [
            1.0 + 0.15 * math.sin(2 * math.pi * (s + 0.5) * STEP_SECONDS / period + phase)
            for s in range(STEPS)
        ]
    leave = STEP_SECONDS / HEATED_MEAN_SECONDS
    enter = leave * HEATED_SHARE / (1.0 - HEATED_SHARE)
    heated = rng.random() < HEATED_SHARE
    mood: list[float] = []
    for _ in range(STEPS):
        mood.append(HEATED_FACTOR if heated else CALM_FACTOR)
        heated = (rng.random() >= leave) if heated else (rng.random() < enter)
    return mood


def _mix(rng: random.Random, rates: PlatformRates) -> dict[str, float]:
    """The platform mix, with one category over-reported by some communities."""
    mix = dict(rates.mix)
    if rng.random() < 0.3:
        mix[rng.choice(TILTABLE)] *= rng.uniform(2.0, 5.0)
    total = sum(mix.values())
    return {c: share / total for c, share in mix.items()}


def _viewer_mode(rng: random.Random, tier: Tier) -> ViewerMode:
    if tier is Tier.HUGE:
        return ViewerMode.ALWAYS
    draw = rng.random()
    if draw < 0.15:
        return ViewerMode.NEVER
    return ViewerMode.SOMETIMES if draw < 0.25 else ViewerMode.ALWAYS


def _tiers(rng: random.Random) -> list[Tier]:
    count = rng.randint(1700, 2300)
    huge = rng.randint(2, 4)
    large = rng.randint(2, 4)
    popular = round(count * rng.uniform(0.015, 0.025))
    small = count - huge - large - popular
    return (
        [Tier.HUGE] * huge + [Tier.LARGE] * large + [Tier.POPULAR] * popular + [Tier.SMALL] * small
    )


def _within_capacity(broadcasts: list[Broadcast]) -> None:
    """The very large broadcasts share one platform's peak audience: together at most
    ``HUGE_AUDIENCE_TOTAL`` (each keeps at least 150k)."""
    huge = [b for b in broadcasts if b.tier is Tier.HUGE]
    total = sum(max(b.audience) for b in huge)
    if total <= HUGE_AUDIENCE_TOTAL:
        return
    for broadcast in huge:
        peak = max(broadcast.audience)
        scale = max(150_000.0 / peak, HUGE_AUDIENCE_TOTAL / total)
        broadcast.audience = [viewers * scale for viewers in broadcast.audience]


def draw_broadcasts(rng: random.Random, rates: PlatformRates) -> list[Broadcast]:
    broadcasts: list[Broadcast] = []
    for tier in _tiers(rng):
        start, end = _lifetime(rng, tier)
        spread = 0.2 if tier in (Tier.HUGE, Tier.LARGE) else 0.5
        multiplier = min(MULTIPLIER_CAP, math.exp(rng.gauss(-spread * spread / 2, spread)))
        broadcasts.append(
            Broadcast(
                id=f"b{rng.getrandbits(48):012x}",
                broadcaster_id=f"c{rng.getrandbits(40):010x}" if rng.random() < 0.95 else None,
                tier=tier,
                start=start,
                end=end,
                audience=_audience(rng, tier, start, end),
                mood=_mood(rng, tier),
                multiplier=multiplier,
                mix=_mix(rng, rates),
                viewer_mode=_viewer_mode(rng, tier),
                platform=rng.choice(("twitter", "periscope", "twitter", None)),
                language=rng.choice(LANGUAGES) if rng.random() < 0.85 else None,
            )
        )
    _within_capacity(broadcasts)
    rng.shuffle(broadcasts)
    return broadcasts


def raid(rng: random.Random, broadcast: Broadcast) -> None:
    """Another channel sends its audience over: ~100x within a minute, leaving slowly."""
    at = rng.uniform(max(broadcast.start + 120.0, 120.0), min(broadcast.end - 180.0, 700.0))
    factor = rng.uniform(80.0, 130.0)
    rise = rng.uniform(20.0, 50.0)
    leave = rng.uniform(900.0, 2400.0)
    for step in range(STEPS):
        mid = (step + 0.5) * STEP_SECONDS
        if broadcast.audience[step] == 0.0 or mid < at:
            continue
        grown = 1.0 + (factor - 1.0) * min(1.0, (mid - at) / rise)
        decay = math.exp(-max(0.0, mid - at - rise) / leave)
        broadcast.audience[step] *= 1.0 + (grown - 1.0) * decay
    broadcast.raid_at = at
    broadcast.role = "raid"
