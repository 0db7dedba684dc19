"""The confounders: what real platforms do that no generator tuned for the detector does.

Each runs ten minutes with surges (and some child-safety reports) on top, so
that recall is measured under it (:mod:`streams.replay.scenarios.abuse`;
docs/detection.md has the catalogue), and all
of them play together in ``real_world``: platform rates 10x below or above the
reference, an evening rise, very large broadcasts with and without a surge,
raids, surges spread across categories, reports without a ``reporter``, skewed
device clocks, late delivery, client retries, false-reporting campaigns and
broadcasts whose reports carry no ``viewer_count`` (large ones too). ``own_mix``
(broadcasts whose category mix is their own), ``growing_broadcasts`` (large ones
getting louder over an hour), ``rare_category_ramps`` (a slow climb, forty minutes
in all, in a category a long-live broadcast seldom draws) and ``trusting_platform``
(ordinary accounts trusted above the policy's neutral trust) came later and play on
their own.

Times are fractions of the run, so short test runs hold every incident too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from models.report import Category
from streams.replay.labels import LabelKind
from streams.replay.scenarios.abuse import (
    SurgeShape,
    child_safety_on_spread,
    single_child_safety,
    spread_surges,
    surge_set,
)
from streams.replay.scenarios.builder import (
    REGIONS,
    Distortions,
    Part,
    ScenarioBuilder,
    ViewerCountHabit,
    World,
    log_uniform,
)
from streams.replay.scenarios.classic import background
from streams.replay.traffic import Broadcast

TILTED_CATEGORIES = (
    Category.HARASSMENT,
    Category.HATEFUL_CONDUCT,
    Category.ADULT_CONTENT,
    Category.GRAPHIC_VIOLENCE,
    Category.OTHER,
    Category.SPAM,
)
"""The categories a broadcast's own audience and content tilt its mix towards or away from;
the first four page, and one of them is always tilted up."""


def _own_mix(b: ScenarioBuilder) -> dict[Category, float]:
    """One broadcast's mix against the platform's, its first key a paging category: two
    categories two to five times their share, one a third of it (a gaming stream draws
    harassment, a cooking stream does not)."""
    up_first = b.random.choice(TILTED_CATEGORIES[:4])
    up_second, down = b.random.sample([c for c in TILTED_CATEGORIES if c is not up_first], 2)
    return {
        up_first: log_uniform(b, 2.0, 5.0),
        up_second: log_uniform(b, 2.0, 5.0),
        down: 1.0 / 3.0,
    }


def _large_broadcasts(
    b: ScenarioBuilder,
    count: int = 4,
    with_surge: int = 2,
    own_factor: tuple[float, float] = (1.5, 4.0),
    *,
    prefix: str = "large",
    audiences: tuple[int, int] = (150_000, 400_000),
    viewer_count_habits: tuple[ViewerCountHabit, ...] = (),
    own_mix: bool = False,
    growth: tuple[float, float] | None = None,
) -> None:
    """Very large audiences at their own steady rates (the platform's times ``own_factor``);
    on the first ``with_surge``, one category jumps to x10 of its current rate for three
    minutes. ``viewer_count_habits`` are the first broadcasts' (the others get the world's).
    With ``own_mix``, each broadcast's categories keep a mix of their own
    (:func:`_own_mix`), and the surge is in the category its audience already over-reports.
    With ``growth``, each broadcast's whole rate, every category together, rises linearly to
    that many times its start by the end of the run: an audience getting louder, slowly."""
    for index in range(count):
        viewers = b.random.randint(*audiences)
        own = log_uniform(b, *own_factor)
        tilt = _own_mix(b) if own_mix else {}
        grows = log_uniform(b, *growth) if growth else 1.0
        target = b.broadcast(f"{prefix}-{index}", viewers, REGIONS[index % 3])
        if index < len(viewer_count_habits):
            b.viewer_count_habits[target.broadcast_id] = viewer_count_habits[index]
        _steady_mix(b, target, own, tilt, grows=grows)
        if index >= with_surge:
            continue
        category = (
            next(iter(tilt)) if tilt else (Category.HARASSMENT, Category.HATEFUL_CONDUCT)[index % 2]
        )
        begin = b.duration * (0.4 + 0.15 * index)
        end = min(b.duration, begin + 180.0)
        now = b.level(begin) * b.world.evening_rise * b.grown(grows, begin)
        extra = 9.0 * b.generator.rates[category] * own * tilt.get(category, 1.0) * viewers * now
        reports = [
            (offset, b.generator.surge(target, category, b.start + offset))
            for offset in b.arrivals(extra, begin, end)
        ]
        b.incident(f"{prefix}-surge-{index}", LabelKind.SURGE, reports)


def _raids(b: ScenarioBuilder, count: int = 3) -> None:
    """An audience jumping 100x within a minute, reporting at the platform's rates."""
    for index in range(count):
        before = b.random.randint(500, 3000)
        peak = before * 100
        target = b.broadcast(f"raid-{index}", before, REGIONS[index % 3])
        raid_at = b.duration * (0.2 + 0.5 * index / count)

        def audience(at: float, before: int = before, raid_at: float = raid_at) -> float:
            progress = min(1.0, max(0.0, (at - raid_at) / 60.0))
            return before * math.pow(100.0, progress)

        def share(
            at: float, peak: int = peak, audience: Callable[[float], float] = audience
        ) -> float:
            return audience(at) / peak * b.level(at)

        for category, rate in b.generator.rates.items():
            ceiling = rate * peak * b.world.evening_rise
            for offset in b.arrivals(ceiling, 0.0, b.duration, share):
                report = b.generator.benign(target, category, b.start + offset)
                report["viewer_count"] = round(audience(offset))
                b.add(offset, report, LabelKind.RAID)


def _campaigns(b: ScenarioBuilder, count: int = 6) -> None:
    """Fresh, low-trust, non-viewing accounts over one to three minutes; every other
    campaign has three ordinary viewers of the broadcast reporting alongside.

    The campaign's reports keep their reporter object, whatever the world drops:
    the accounts' standing is what tells a campaign from viewers, and one run by a
    script comes from one client, not from a mix of old and new ones."""
    for index in range(count):
        target = b.broadcast(f"campaign-{index}", b.random.randint(500, 20_000))
        category = (Category.HATEFUL_CONDUCT, Category.HARASSMENT, Category.VIOLENT_THREAT)[
            index % 3
        ]
        begin = b.duration * (0.1 + 0.75 * index / count)
        span = b.random.uniform(60.0, 180.0)
        reports = []
        for _ in range(b.random.randint(25, 40)):
            offset = begin + b.random.uniform(0, span)
            reports.append((offset, b.generator.coordinated(target, category, b.start + offset)))
        if index % 2 == 1:
            for _ in range(3):
                offset = begin + b.random.uniform(0, span)
                report = b.generator.benign(target, category, b.start + offset)
                report["reporter"]["was_viewing"] = True
                reports.append((offset, report))
        b.incident(f"campaign-{index}", LabelKind.COORDINATED, reports, keep_reporter=True)


def _retry_storms(b: ScenarioBuilder, count: int = 3) -> None:
    """A few ordinary viewers of a small broadcast whose clients resend each report often."""
    for index in range(count):
        target = b.broadcast(f"retry-{index}", b.random.randint(200, 2000))
        begin = b.duration * (0.2 + 0.6 * index / count)
        for _ in range(4):
            offset = begin + b.random.uniform(0, 30)
            report = b.generator.benign(target, Category.HARASSMENT, b.start + offset)
            b.add(offset, report, LabelKind.BACKGROUND, retries=b.random.randint(4, 6))


UNMEASURED_HABITS = (
    ViewerCountHabit.OMITTED,
    ViewerCountHabit.SOMETIMES,
    ViewerCountHabit.OMITTED,
    ViewerCountHabit.SOMETIMES,
)
"""The large broadcasts' and surges' habits in ``missing_viewer_count``: with a surge on
top, one that never sends ``viewer_count`` and one that sometimes does; the same without."""


def _unmeasured_audiences(b: ScenarioBuilder) -> None:
    """Broadcasts whose reports carry no ``viewer_count``, or only some of them: large ones
    (with and without a surge on top) reporting at their real audience's rates, and
    credible-viewer surges on small ones; the background's habits are the world's."""
    _large_broadcasts(
        b,
        count=4,
        with_surge=2,
        own_factor=(0.5, 2.0),
        prefix="unmeasured-large",
        audiences=(100_000, 400_000),
        viewer_count_habits=UNMEASURED_HABITS,
    )
    surge_set(b, 4, "unmeasured-surge", SurgeShape(viewer_count_habits=UNMEASURED_HABITS))


def _own_mix_broadcasts(b: ScenarioBuilder) -> None:
    """Mid-size to very large broadcasts over-reporting some categories steadily, three
    with a surge of the over-reported paging category on top."""
    own = (0.5, 2.0)
    _large_broadcasts(b, 6, 3, own, prefix="mix", audiences=(20_000, 400_000), own_mix=True)


def _growing_broadcasts(b: ScenarioBuilder) -> None:
    """Very large broadcasts whose whole rate doubles or triples over an hour, two with a
    surge on top: slowly varying is normal for a broadcast too (issue 13), and an hour is
    what it takes, since a ten-minute run ends before a broadcast's own reference moves."""
    _large_broadcasts(b, prefix="grow", growth=(2.0, 3.0))


RARE_RAMP_CATEGORIES = (
    Category.VIOLENT_THREAT,
    Category.GRAPHIC_VIOLENCE,
    Category.SELF_HARM,
    Category.HATEFUL_CONDUCT,
)
"""Paging categories a broadcast may seldom draw, in which ``rare_category_ramps`` climbs."""


def _rare_category_ramps(b: ScenarioBuilder, count: int = 4, steady: int = 4) -> None:
    """Broadcasts live for a quarter of an hour or more at a mix of their own, on which a
    paging category they seldom draw (a tenth to a third of its platform share) climbs
    over five minutes to four to ten times that share, above ``own_mix``'s steady tilts,
    and holds: content turning abusive slowly. Elsewhere every ramp climbs in a category
    its broadcast reports from its first minute, so a reference opened by the category's
    first report (the climb's, here) is never put to the test.
    ``steady`` smaller broadcasts keep their own mix throughout, so that an over-reported
    category's first report comes minutes after the broadcast's: the false ramp that a
    reference opened with the broadcast, rather than with the category, would risk."""
    for index in range(count):
        _rare_category_ramp(b, index)
    for index in range(count, count + steady):
        target = b.broadcast(f"rare-{index}", b.random.randint(3_000, 30_000), REGIONS[index % 3])
        _steady_mix(b, target, log_uniform(b, 0.5, 2.0), _own_mix(b))


def _rare_category_ramp(b: ScenarioBuilder, index: int) -> None:
    target = b.broadcast(f"rare-{index}", b.random.randint(50_000, 300_000), REGIONS[index % 3])
    own = log_uniform(b, 0.5, 2.0)
    tilt = _own_mix(b)
    rare = b.random.choice([c for c in RARE_RAMP_CATEGORIES if c not in tilt])
    _steady_mix(b, target, own, tilt, leave_out=rare)
    share = b.generator.rates[rare] * own * target.viewers
    before, peak = share * log_uniform(b, 0.1, 1.0 / 3.0), share * log_uniform(b, 4.0, 10.0)
    begin = b.duration * (0.3 + 0.1 * index)

    def climb(at: float) -> float:
        progress = min(1.0, max(0.0, (at - begin) / 300.0))
        return (before + (peak - before) * progress) / peak * b.level(at)

    b.ramp(
        f"rare-ramp-{index}",
        target,
        rare,
        peak=peak * b.world.evening_rise,
        shape=climb,
        begin=begin,
        end=b.duration,
        before=LabelKind.VIRAL,
    )


def _steady_mix(
    b: ScenarioBuilder,
    target: Broadcast,
    own: float,
    tilt: dict[Category, float],
    leave_out: Category | None = None,
    grows: float = 1.0,
) -> None:
    """A broadcast's ordinary reports in every category but ``leave_out``: the platform's
    rates times ``own``, tilted by its mix (growing to ``grows`` times by the end)."""
    for category, rate in b.generator.rates.items():
        if category is leave_out:
            continue
        steady = rate * own * tilt.get(category, 1.0) * target.viewers
        for offset in b.organic(steady, 0.0, b.duration, grows):
            b.add(offset, b.generator.benign(target, category, b.start + offset), LabelKind.VIRAL)


TRUSTING_ORDINARY_TRUST = (0.4, 0.79)
"""``trusting_platform``'s ordinary reporters: above the policy's neutral trust for the most
part, so they weigh up to about 1.6, and below a credible report's trust, which pages a
child-safety report on its own whatever the platform (that rule is the product's, not a
confounder)."""


def _trusting_platform(b: ScenarioBuilder) -> None:
    """A platform whose trust model scores ordinary accounts higher than the policy's scale
    assumes: retry storms of four viewers of a small broadcast, very large broadcasts (one
    with a surge), surges and child-safety reports."""
    _retry_storms(b)
    _large_broadcasts(b, count=2, with_surge=1)
    _surges_and_child_safety(b)


def _real_world(b: ScenarioBuilder) -> None:
    background(b)
    _large_broadcasts(
        b,
        count=4,
        with_surge=2,
        own_factor=(0.5, 2.0),
        viewer_count_habits=(
            ViewerCountHabit.SENT,
            ViewerCountHabit.OMITTED,
            ViewerCountHabit.SENT,
            ViewerCountHabit.OMITTED,
        ),
    )
    _raids(b, count=2)
    surge_set(b, 3, "surge", SurgeShape(first_skews=(150.0,), anonymous=1))
    surge_set(b, 2, "late-surge", SurgeShape(late=True))
    child_safety_on_spread(b, spread_surges(b, 3))
    _campaigns(b, count=4)
    _retry_storms(b, count=2)
    single_child_safety(b, 2)


def _with_background(*parts: Part) -> Part:
    def build(b: ScenarioBuilder) -> None:
        background(b)
        for part in parts:
            part(b)

    return build


def _surges_and_child_safety(b: ScenarioBuilder) -> None:
    surge_set(b, 4, "surge")
    single_child_safety(b, 2)


CONFOUNDERS: dict[str, tuple[World, Part]] = {
    "quiet_platform": (World(rate_factor=0.1), _with_background(_surges_and_child_safety)),
    "busy_platform": (World(rate_factor=10.0), _with_background(_surges_and_child_safety)),
    "evening_rise": (World(evening_rise=3.0), _with_background(_surges_and_child_safety)),
    "large_broadcasts": (World(), _with_background(_large_broadcasts)),
    "own_mix": (World(), _with_background(_own_mix_broadcasts)),
    "growing_broadcasts": (World(duration=3600.0), _with_background(_growing_broadcasts)),
    "rare_category_ramps": (World(duration=2400.0), _with_background(_rare_category_ramps)),
    "trusting_platform": (
        World(ordinary_trust=TRUSTING_ORDINARY_TRUST),
        _with_background(_trusting_platform),
    ),
    "raids": (World(), _with_background(_raids, lambda b: surge_set(b, 2, "surge"))),
    "spread_surges": (World(), _with_background(lambda b: spread_surges(b, 5))),
    "anonymous_reporters": (
        World(distortions=Distortions(missing_reporter_share=0.5)),
        _with_background(lambda b: surge_set(b, 4, "surge", SurgeShape(anonymous=2))),
    ),
    "skewed_clocks": (
        World(distortions=Distortions(skewed_clock_share=0.3)),
        _with_background(
            lambda b: surge_set(b, 4, "surge", SurgeShape(first_skews=(150.0, 150.0, -60.0))),
            lambda b: single_child_safety(b, 2),
        ),
    ),
    "late_delivery": (
        World(distortions=Distortions(late_share=0.25)),
        _with_background(lambda b: surge_set(b, 4, "late-surge", SurgeShape(late=True))),
    ),
    "retries": (
        World(distortions=Distortions(retry_share=0.15)),
        _with_background(_retry_storms, lambda b: surge_set(b, 3, "surge")),
    ),
    "campaigns": (World(), _with_background(_campaigns, lambda b: surge_set(b, 2, "surge"))),
    "missing_viewer_count": (
        World(
            distortions=Distortions(
                viewer_count_omitted_share=0.3, viewer_count_sometimes_share=0.2
            )
        ),
        _with_background(_unmeasured_audiences),
    ),
    "real_world": (
        World(
            background_rate=10.0,
            broadcasts=1500,
            rate_factor=3.0,
            evening_rise=3.0,
            distortions=Distortions(
                missing_reporter_share=0.2,
                skewed_clock_share=0.15,
                late_share=0.2,
                retry_share=0.05,
                viewer_count_omitted_share=0.15,
                viewer_count_sometimes_share=0.1,
            ),
        ),
        _real_world,
    ),
}
