"""The scorecard over seeds: every scenario replayed per seed, beside the fixed-threshold rule.

Each seed of each scenario is replayed on its own, from a cold start (new
engine, empty state, priors only), exactly as ``spikewatch replay FILE`` would
replay the log ``spikewatch produce --scenario NAME --seed N --out FILE`` writes;
the cards of the seeds are then pooled (counts add up, delays pool), so a
median is over every incident of every seed.

Tuning discipline: whoever tunes a policy tunes on seeds 101-120 and reports
on seeds 1-20, which the tuning never saw.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from alerting.policy import Policy
from streams.logs import configure_logging
from streams.replay.explain import explain
from streams.replay.fixed_rule import fixed_threshold_triggers
from streams.replay.labels import LabelKind
from streams.replay.scenarios.catalogue import SCENARIOS, ScenarioError, build_scenario
from streams.replay.scenarios.confounders import CONFOUNDERS
from streams.replay.scoring import SURGE_KINDS, ScoreCard, score
from streams.replay.session import Replay, ReplayResult, file_messages
from streams.replay.terminal import floored_percent

LATE_MARGIN_SECONDS = 10.0
"""A late surge meets its target when paged within its delivery lag plus this."""


def parse_seeds(text: str) -> list[int]:
    """``1-20``, ``3`` or ``1,5,9-12``."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            seeds.extend(range(int(first), int(last or first) + 1))
    except ValueError as error:
        raise ScenarioError(f"cannot read seeds {text!r}; write e.g. 1-20 or 1,5,9-12") from error
    if not seeds:
        raise ScenarioError(f"no seeds in {text!r}; write e.g. 1-20 or 1,5,9-12")
    return seeds


def scenario_names(text: str) -> list[str]:
    """One scenario, several (comma-separated), or ``all``: each confounder, ending with
    their mix ``real_world`` (``mixed``, the classic mix, is half an hour of traffic per
    seed and has figures of its own: name it to include it)."""
    if text == "all":
        return list(CONFOUNDERS)
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise ScenarioError(
            f"unknown scenario {unknown[0]!r}; choose all or one of {', '.join(SCENARIOS)}"
        )
    return names


@dataclass(frozen=True, slots=True)
class ScenarioFigures:
    name: str
    policy: ScoreCard
    fixed: ScoreCard
    messages: int
    findings: tuple[str, ...] = ()
    """With ``with_findings``: each seed's false pages and missed incidents, a line each."""


def replay_scenario(
    policy: Policy, name: str, seed: int, *, partitions: int, max_message_bytes: int
) -> ReplayResult:
    """One seed of one scenario through the worker's code, as a file replay would run it."""
    lines = [message.value for message in build_scenario(name, seed=seed)]
    return replay_log(policy, lines, partitions=partitions, max_message_bytes=max_message_bytes)


def replay_log(
    policy: Policy, lines: list[bytes], *, partitions: int, max_message_bytes: int
) -> ReplayResult:
    """A report log's lines through a cold-started replay, drained at the end."""
    replay = Replay(policy, partitions=partitions, max_message_bytes=max_message_bytes)
    for message in file_messages(lines, partitions, "replay"):
        replay.feed(message)
    replay.drain()
    return replay.result


@dataclass(frozen=True, slots=True)
class _Job:
    policy: Policy
    name: str
    seed: int
    partitions: int
    max_message_bytes: int
    fixed_reports: int
    with_findings: bool


def _scored(job: _Job) -> tuple[ScoreCard, ScoreCard, int, list[str]]:
    """One seed of one scenario: the policy's card, the fixed rule's card, the messages and,
    with ``with_findings``, the lines of :func:`streams.replay.explain.explain`."""
    configure_logging("error")
    result = replay_scenario(
        job.policy,
        job.name,
        job.seed,
        partitions=job.partitions,
        max_message_bytes=job.max_message_bytes,
    )
    fixed = fixed_threshold_triggers(result.labels, job.policy, reports=job.fixed_reports)
    found = explain(result.labels, result.triggers, result.escalations) if job.with_findings else []
    lines = [f"{job.name} seed {job.seed}: {finding.line}" for finding in found]
    return (
        _of_seed(result.score(), job.seed),
        _of_seed(score(result.labels, fixed, floor=result.floor), job.seed),
        result.messages,
        lines,
    )


def _of_seed(card: ScoreCard, seed: int) -> ScoreCard:
    """The card with its missed incidents named by seed as well: every seed holds incidents
    of the same names, and pooled they would not say which was missed."""
    return replace(card, missed=[f"{name} (seed {seed})" for name in card.missed])


def scenario_figures(
    policy: Policy,
    names: Iterable[str],
    seeds: Sequence[int],
    *,
    partitions: int,
    max_message_bytes: int,
    fixed_reports: int,
    jobs: int = 1,
    with_findings: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> list[ScenarioFigures]:
    """Every seed of every scenario, in ``jobs`` processes (each seed is independent)."""
    work = [
        _Job(policy, name, seed, partitions, max_message_bytes, fixed_reports, with_findings)
        for name in names
        for seed in seeds
    ]
    results: dict[tuple[str, int], tuple[ScoreCard, ScoreCard, int, list[str]]] = {}
    if jobs <= 1:
        for job in work:
            progress(f"{job.name} seed {job.seed}")
            results[job.name, job.seed] = _scored(job)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for job, scored in zip(work, pool.map(_scored, work), strict=True):
                progress(f"{job.name} seed {job.seed}")
                results[job.name, job.seed] = scored
    figures = []
    for name in dict.fromkeys(job.name for job in work):
        cards = [results[name, seed] for seed in seeds]
        figures.append(
            ScenarioFigures(
                name,
                ScoreCard.combined(c[0] for c in cards),
                ScoreCard.combined(c[1] for c in cards),
                sum(c[2] for c in cards),
                tuple(line for c in cards for line in c[3]),
            )
        )
    return figures


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(part: int, whole: int) -> str:
    return "-" if not whole else f"{floored_percent(part / whole)} ({part}/{whole})"


def _row(name: str, rule: str, card: ScoreCard, *, with_floor: bool) -> str:
    """A scenario's row for one rule; the floor, the traffic's, on the policy's row only."""
    per_incident = card.pages_per_incident
    return (
        f"| {name} | {rule} | {_share(card.detected, card.abuse_incidents)} | "
        f"{card.false_pages} | {'-' if per_incident is None else f'{per_incident:.2f}'} | "
        f"{card.incidents_paged_once}/{card.abuse_incidents} | "
        f"{_seconds(card.median_delay(*SURGE_KINDS))} | {_seconds(card.p90_delay(*SURGE_KINDS))} | "
        f"{_seconds(card.median_floor(*SURGE_KINDS)) if with_floor else ''} | "
        f"{_seconds(card.median_delay(LabelKind.CHILD_SAFETY))} | "
        f"{card.campaigns_paged}/{card.coordinated_incidents} |"
    )


def _late(card: ScoreCard, *, floors: bool) -> str:
    """The late surges paged, and, with ``floors``, how many of all the late surges reached
    the floor in time to be paged within the target at all."""
    late = card.late(*SURGE_KINDS)
    if not late:
        return "-"
    within = sum(1 for delay, lag in late if delay <= lag + LATE_MARGIN_SECONDS)
    text = (
        f"median delay {statistics.median(d for d, _ in late):.1f} s, median lag "
        f"{statistics.median(lag for _, lag in late):.1f} s; {within}/{len(late)} within "
        f"lag + {LATE_MARGIN_SECONDS:.0f} s"
    )
    if not floors:
        return text
    late_floors = card.late_floors(*SURGE_KINDS)
    reachable = sum(1 for floor, lag in late_floors if floor <= lag + LATE_MARGIN_SECONDS)
    return f"{text} (of all {len(late_floors)}, {reachable} reached the floor by then)"


def _floors(card: ScoreCard) -> str:
    """The on-time surges' median time to the floor, single-category and spread."""
    single, spread = card.median_floor(LabelKind.SURGE), card.median_floor(LabelKind.SPREAD_SURGE)
    if single is None and spread is None:
        return "-"
    return f"{_seconds(single)} s (spread across categories {_seconds(spread)} s)"


def figures_markdown(
    figures: list[ScenarioFigures], seeds: Sequence[int], policy: Policy, fixed_reports: int
) -> str:
    """The tables for docs/detection.md: per scenario, then the targets over all of them."""
    fixed_name = f"fixed {fixed_reports}/5 min"
    quiet = policy.lifecycle.resolve_after_quiet_seconds + policy.window.allowed_lateness_seconds
    lines = [
        f"Seeds {_seed_text(seeds)}, policy `{policy.policy_version}`, cold start, each seed "
        f"replayed on its own and the seeds pooled; `{fixed_name}` pages at {fixed_reports} "
        "reports of a category in 5 minutes. Delays in seconds from the onset, of the "
        "incidents delivered on time (late ones: the late-surge row); surge delays pool "
        "single-category and spread surges. A surge's floor is when its own reporters first "
        f"weigh the spike's floor of {policy.spike.min_distinct_reporters} weighted reporters: "
        "no page from them comes sooner, whatever the rule (the traffic's, so given once).",
        "",
        "| scenario | rule | recall | false pages | pages per incident | paged once | "
        "median surge delay | p90 surge delay | median surge floor | "
        "median child-safety delay | campaigns paged |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for figure in figures:
        lines.append(_row(figure.name, "policy", figure.policy, with_floor=True))
        lines.append(_row("", fixed_name, figure.fixed, with_floor=False))
    mine = ScoreCard.combined(f.policy for f in figures)
    theirs = ScoreCard.combined(f.fixed for f in figures)
    lines += [
        "",
        f"| target, all scenarios | policy | {fixed_name} |",
        "|---|---|---|",
        f"| recall (paging triggers only), 100% | {_share(mine.detected, mine.abuse_incidents)} "
        f"| {_share(theirs.detected, theirs.abuse_incidents)} |",
        f"| false pages, 0 | {mine.false_pages} {_kinds(mine)} | "
        f"{theirs.false_pages} {_kinds(theirs)} |",
        f"| abuse incidents paged exactly once | {mine.incidents_paged_once}/"
        f"{mine.abuse_incidents} | {theirs.incidents_paged_once}/{theirs.abuse_incidents} |",
    ]
    for label, kind, tail in (
        (
            "surges delivered on time, median / p90 delay, median <= 10 s",
            LabelKind.SURGE,
            ScoreCard.p90_delay,
        ),
        (
            "surges spread across categories (on time), median / p90",
            LabelKind.SPREAD_SURGE,
            ScoreCard.p90_delay,
        ),
        (
            "single child-safety reports delivered on time, median / max delay",
            LabelKind.CHILD_SAFETY,
            ScoreCard.max_delay,
        ),
        ("slow ramps, median / max delay", LabelKind.RAMP, ScoreCard.max_delay),
    ):
        if mine.delays(kind) or theirs.delays(kind):
            lines.append(
                f"| {label} | {_delays(mine, kind, tail)} | {_delays(theirs, kind, tail)} |"
            )
    lines += [
        f"| surges delivered on time, median time until their own reporters weigh "
        f"{mine.floor}, the spike's floor (no page from them comes sooner) | {_floors(mine)} "
        "| - |",
        f"| single child-safety reports, longest delay beyond the delivery lag, <= 2 s | "
        f"{_beyond_lag(mine)} | {_beyond_lag(theirs)} |",
        f"| late surges: delay <= delivery lag + 10 s | {_late(mine, floors=True)} | "
        f"{_late(theirs, floors=False)} |",
        f"| campaigns paged, 0 | {mine.campaigns_paged}/{mine.coordinated_incidents} | "
        f"{theirs.campaigns_paged}/{theirs.coordinated_incidents} |",
        f"| abuse incidents open after the abuse's last report, median / max (resolved "
        f"{quiet:g} s after the last signal) | {_open(mine)} | {_open(theirs)} |",
        "",
    ]
    return "\n".join(lines)


def _open(card: ScoreCard) -> str:
    spans = card.open_after_abuse()
    never = f"; {card.never_resolved} never resolved" if card.never_resolved else ""
    if spans is None:
        return f"-{never}"
    return f"{spans[0]:.0f} / {spans[1]:.0f} s{never}"


def _beyond_lag(card: ScoreCard) -> str:
    paged = card.delays_and_lags(LabelKind.CHILD_SAFETY)
    if not paged:
        return "-"
    return f"{max(delay - lag for delay, lag in paged):.1f} s"


def _kinds(card: ScoreCard) -> str:
    if not card.false_pages_by_kind:
        return ""
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(card.false_pages_by_kind.items())) + ")"


def _delays(
    card: ScoreCard, kind: LabelKind, tail: Callable[[ScoreCard, LabelKind], float | None]
) -> str:
    median = card.median_delay(kind)
    return "-" if median is None else f"{median:.1f} / {_seconds(tail(card, kind))} s"


def _seed_text(seeds: Sequence[int]) -> str:
    ordered = sorted(seeds)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(seed) for seed in ordered)


def print_progress(text: str) -> None:
    print(f"\rscoring {text}        ", end="", file=sys.stderr, flush=True)
