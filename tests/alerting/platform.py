"""A small simulated platform for the learner's tests: ordinary broadcasts, a cold start."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from alerting.baseline import BaseRateLearner
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import ORDINARY, T0, make_report


@dataclass(frozen=True)
class Platform:
    """``scale`` x the priors on every category; ``campaign_per_minute`` harassment
    reports a minute from fresh ordinary-looking accounts on broadcast 0, all run long."""

    scale: float
    minutes: float
    broadcasts: int = 100
    large: tuple[int, ...] = (200_000, 300_000)
    campaign_per_minute: int = 0
    seed: int = 7


@dataclass
class Run:
    learner: BaseRateLearner
    pages: list[EscalationV2] = field(default_factory=list)


def platform_reports(policy: Policy, platform: Platform) -> list[ReportEvent]:
    """The platform's reports in event-time order."""
    generator = random.Random(platform.seed)
    audiences = [round(10 ** generator.uniform(2, 4.3)) for _ in range(platform.broadcasts)]
    audiences += platform.large
    seconds = platform.minutes * 60
    arrivals: list[tuple[float, int, Category]] = []
    for broadcast, viewers in enumerate(audiences):
        for category in Category:
            rate = policy.category(category).base_rate_per_viewer_second * viewers
            at = generator.expovariate(rate * platform.scale)
            while at < seconds:
                arrivals.append((at, broadcast, category))
                at += generator.expovariate(rate * platform.scale)
    if platform.campaign_per_minute:
        spacing = 60 / platform.campaign_per_minute
        arrivals += [
            (index * spacing, 0, Category.HARASSMENT) for index in range(int(seconds / spacing))
        ]
    arrivals.sort()
    return [
        make_report(
            f"viewer-{number}",
            at=T0 + at,
            category=category.value,
            viewers=audiences[broadcast],
            reporter=ORDINARY,
            broadcast_id=f"b-{broadcast}",
        )
        for number, (at, broadcast, category) in enumerate(arrivals)
    ]


def simulate(policy: Policy, platform: Platform) -> Run:
    """The platform through one engine and one learner (one partition), from a cold start.

    ``pages`` are the paging triggers; on a campaign's broadcast they are the campaign's own.
    """
    engine = DetectionEngine(policy)
    run = Run(BaseRateLearner())
    states: dict[str, BroadcastState] = {}
    for report in platform_reports(policy, platform):
        state = states.get(report.broadcast_id)
        if state is None:
            state = states[report.broadcast_id] = BroadcastState(report.broadcast_id)
        sent = engine.observe(state, report, learner=run.learner).escalations
        run.pages += [e for e in sent if e.severity.pages and e.event_action is EventAction.TRIGGER]
    return run
