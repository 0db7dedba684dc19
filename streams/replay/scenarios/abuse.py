"""The abuse each confounder carries on top, so that recall is measured under it: surges of
credible viewers in one category or spread across several, and child-safety reports.

Each surge's broadcast has been live a while when its surge starts
(:meth:`ScenarioBuilder.live_before`), and the surges are placed at fractions of the run,
so a shrunk run holds every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.report import Category
from streams.replay.labels import LabelKind
from streams.replay.scenarios.builder import (
    REGIONS,
    SURGE_CATEGORIES,
    ScenarioBuilder,
    ViewerCountHabit,
    log_uniform,
)
from streams.replay.scenarios.classic import child_safety
from streams.replay.traffic import Broadcast

SPREAD_CATEGORIES = (
    Category.VIOLENT_THREAT,
    Category.HARASSMENT,
    Category.HATEFUL_CONDUCT,
    Category.OTHER,
)
"""How viewers file one abusive broadcast: under several categories at once."""


@dataclass(frozen=True, slots=True)
class SurgeShape:
    """How a set of surges differs from fifteen credible viewers in thirty seconds."""

    late: bool = False
    first_skews: tuple[float, ...] = ()
    anonymous: int = 0
    """How many of the set (the first ones) come from reporters without a reporter object."""
    viewer_count_habits: tuple[ViewerCountHabit, ...] = ()
    """The habits of the set's first broadcasts (the others get the world's)."""


def surge_set(
    b: ScenarioBuilder, count: int, prefix: str, shape: SurgeShape = SurgeShape()
) -> None:
    for index in range(count):
        viewers = round(log_uniform(b, 100, 20_000))
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
        b.live_before(target, begin)


def single_child_safety(b: ScenarioBuilder, count: int) -> None:
    child_safety(b, count, first=b.duration * 0.2, every=b.duration * 0.6 / max(count, 1))


def spread_surges(
    b: ScenarioBuilder, count: int, prefix: str = "spread"
) -> list[tuple[Broadcast, float]]:
    """Credible viewers filing one broadcast under several categories; a quarter file twice."""
    targets = []
    for index in range(count):
        target = b.broadcast(f"{prefix}-{index}", round(log_uniform(b, 200, 20_000)))
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
        b.live_before(target, begin)
        targets.append((target, reports[0][0]))
    return targets


def child_safety_on_spread(b: ScenarioBuilder, targets: list[tuple[Broadcast, float]]) -> None:
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
