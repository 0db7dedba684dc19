"""How often a large broadcast that is steady or getting louder slowly pages, over many
seeds: the harness behind ``ramp.threshold`` and ``ramp.elsewhere_seconds``
(docs/detection.md). A soak test, never in CI: ``.venv/bin/pytest -m soak -s
tests/alerting/test_ramp_soak.py`` prints each configuration's count."""

from __future__ import annotations

import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy
from alerting.state import BroadcastState
from models.escalation import EventAction
from tests.alerting.helpers import steady_broadcast

pytestmark = [pytest.mark.soak, pytest.mark.timeout(1800)]

SEEDS = range(200, 220)
"""The check set: the thresholds were chosen on seeds 100-119."""


def paged(
    policy: Policy, viewers: int, scale: float, rise: float, seconds: float, seed: int
) -> bool:
    engine, state = DetectionEngine(policy), BroadcastState("big")
    return any(
        escalation.event_action is EventAction.TRIGGER and escalation.severity.pages
        for report in steady_broadcast(
            policy, viewers=viewers, scale=scale, seconds=seconds, rise=rise, seed=seed
        )
        for escalation in engine.observe(state, report).escalations
    )


@pytest.mark.parametrize(
    ("viewers", "scale", "rise", "seconds"),
    [
        (300_000, 3.0, 2.0, 3600.0),
        (300_000, 1.0, 3.0, 1800.0),
        (50_000, 3.0, 3.0, 1800.0),
        (300_000, 1.0, 1.0, 3600.0),
        (150_000, 2.0, 1.0, 3600.0),
    ],
)
def test_a_large_broadcast_steady_or_getting_louder_rarely_pages(
    policy: Policy, viewers: int, scale: float, rise: float, seconds: float
) -> None:
    runs = sum(paged(policy, viewers, scale, rise, seconds, seed) for seed in SEEDS)
    print(f"{viewers} viewers at {scale}x rising {rise}x over {seconds:.0f} s: {runs} of 20 paged")
    assert runs <= 2
