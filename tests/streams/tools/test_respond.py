"""The simulated responder's habits, without a broker."""

from __future__ import annotations

import random

from models.acknowledgement import AckAction, Actor
from models.decode import Rejection, decode_acknowledgement
from streams.tools.respond import (
    SIMULATED_TOOL,
    ResponderHabits,
    acknowledgement_for,
    plan_response,
)


def habits(miss: float, resolve: float) -> ResponderHabits:
    return ResponderHabits(
        acknowledge_mean_seconds=60,
        resolve_mean_seconds=240,
        miss_share=miss,
        resolve_share=resolve,
        seed=1,
    )


def test_missed_pages_get_no_answer_and_resolutions_follow_acknowledgements() -> None:
    rng = random.Random(3)
    assert {plan_response(habits(1.0, 1.0), rng) for _ in range(20)} == {
        plan_response(habits(1.0, 0.0), rng)
    }
    plans = [plan_response(habits(0.0, 1.0), rng) for _ in range(200)]
    acks = [p.acknowledge_after for p in plans if p.acknowledge_after is not None]
    resolves = [p.resolve_after for p in plans if p.resolve_after is not None]
    assert len(acks) == len(resolves) == len(plans)
    assert all(resolve > ack for ack, resolve in zip(acks, resolves, strict=True))
    assert 40 < sum(acks) / len(acks) < 80, "exponential delays around the configured mean"
    never_resolved = [plan_response(habits(0.0, 0.0), rng) for _ in range(20)]
    assert all(p.resolve_after is None and p.acknowledge_after for p in never_resolved)


def test_its_acknowledgements_are_valid_contract_messages_naming_the_tool() -> None:
    decoded = decode_acknowledgement(acknowledgement_for("k-1", AckAction.RESOLVED, 1.8e9))
    assert not isinstance(decoded, Rejection)
    assert decoded.dedup_key == "k-1"
    assert decoded.action is AckAction.RESOLVED
    assert decoded.actor is Actor.HUMAN
    assert decoded.tool == SIMULATED_TOOL
