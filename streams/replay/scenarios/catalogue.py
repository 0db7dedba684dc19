"""Every scenario by name: build one, and write it as a JSON-lines report log."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from models.errors import SpikewatchError
from streams.replay.independent import INDEPENDENT_SCENARIOS, build_independent
from streams.replay.scenarios.builder import (
    SCENARIO_START,
    ScenarioBuilder,
    ScenarioMessage,
    platform_rates,
)
from streams.replay.scenarios.classic import CLASSIC_PARTS, CLASSIC_WORLD, classic
from streams.replay.scenarios.confounders import CONFOUNDERS
from streams.replay.traffic import TrafficGenerator


class ScenarioError(SpikewatchError):
    """An unknown scenario name or unreadable seeds; the message says what is accepted."""


SCENARIOS = ("mixed", *CLASSIC_PARTS, *CONFOUNDERS, *INDEPENDENT_SCENARIOS)


def build_scenario(
    name: str,
    *,
    seed: int = 7,
    start: float = SCENARIO_START,
    duration: float | None = None,
    background_rate: float | None = None,
    broadcasts: int | None = None,
) -> list[ScenarioMessage]:
    """The messages of scenario ``name`` in the order they reach Kafka.

    ``duration``, ``background_rate`` and ``broadcasts`` shrink (or grow) a
    scenario's world; the classic scenarios place their incidents at fixed times
    within their 30 minutes, the confounders at fractions of the run.
    """
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    if name in INDEPENDENT_SCENARIOS:
        if (duration, background_rate, broadcasts) != (None, None, None):
            raise ScenarioError(f"scenario {name!r} is built whole: its world cannot be resized")
        return build_independent(name, seed=seed, start=start)
    world, build = CONFOUNDERS.get(name, (CLASSIC_WORLD, classic(name)))
    world = replace(
        world,
        duration=world.duration if duration is None else duration,
        background_rate=world.background_rate if background_rate is None else background_rate,
        broadcasts=world.broadcasts if broadcasts is None else broadcasts,
    )
    generator = TrafficGenerator(
        rates=platform_rates(world.rate_factor, seed),
        broadcasts=world.broadcasts,
        rate_per_second=world.background_rate,
        seed=seed,
        prefix="bg",
        ordinary_trust=world.ordinary_trust,
    )
    b = ScenarioBuilder(generator, start, world)
    build(b)
    b.messages.sort(key=lambda message: message.delivered_at)
    return b.messages


def write_jsonl(messages: list[ScenarioMessage], sink: Any) -> int:
    """Write message values one a line (a JSON-lines report log); return the count.

    Malformed values are written as they are; none of them contains a newline.
    """
    for message in messages:
        sink.write(message.value + b"\n")
    return len(messages)
