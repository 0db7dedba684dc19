"""A small simulated platform for the learner's tests: ordinary broadcasts, a cold start."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from alerting.baseline import BaseRateLearner
from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2
from models.report import Category, ReportEvent
from tests.alerting.helpers import ORDINARY, T0, make_report, ordinary_reports, poisson_arrivals


@dataclass(frozen=True)
class Platform:
    """``scale`` x the priors on every category; ``campaign_per_minute`` harassment
    reports a minute from fresh ordinary-looking accounts on broadcast 0, all run long;
    ``trust`` every ordinary reporter's trust score; ``storm`` reports from each of that
    many viewers of a small extra broadcast (``storm-0``) within 30 s of minute five."""

    scale: float
    minutes: float
    broadcasts: int = 100
    large: tuple[int, ...] = (200_000, 300_000)
    campaign_per_minute: int = 0
    seed: int = 7
    trust: float = ORDINARY["trust"]
    storm: tuple[int, int] = (0, 0)

    @property
    def reporter(self) -> dict[str, Any]:
        return {**ORDINARY, "trust": self.trust}


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
    arrivals = [
        (at, f"b-{broadcast}", category, viewers)
        for broadcast, viewers in enumerate(audiences)
        for category in Category
        for at in poisson_arrivals(
            policy.category(category).base_rate_per_viewer_second * viewers * platform.scale,
            0.0,
            seconds,
            generator,
        )
    ]
    if platform.campaign_per_minute:
        spacing = 60 / platform.campaign_per_minute
        arrivals += [
            (index * spacing, "b-0", Category.HARASSMENT, audiences[0])
            for index in range(int(seconds / spacing))
        ]
    reports = ordinary_reports(arrivals, platform.reporter)
    viewers, clicks = platform.storm
    storm = [
        make_report(
            f"storm-viewer-{viewer}",
            at=T0 + 300.0 + generator.uniform(0.0, 30.0),
            category=Category.HARASSMENT.value,
            viewers=800,
            reporter=platform.reporter,
            broadcast_id="storm-0",
            report_id=f"storm-{viewer}-{click}",
        )
        for viewer in range(viewers)
        for click in range(clicks)
    ]
    return sorted(reports + storm, key=lambda report: report.event_time)


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
