"""``spikewatch respond``: a simulated on-call responder for demos and the Compose stack.

It stands in for an on-call tool so the on-call KPI board shows something without
one: it follows the escalation topics and, for every page (a trigger of a paging
severity), acknowledges after a random delay, resolves a share of them later and
misses some altogether, which then breach their SLA. Its acknowledgements say
``actor: human`` with ``tool: simulated-oncall``; never run it beside real on-call
tools, whose KPIs it would blend with invented ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation import Escalation, EventAction
from streams.kafka.clients import follow_escalations, producer
from streams.settings import Settings

SIMULATED_TOOL = "simulated-oncall"


@dataclass(frozen=True, slots=True)
class ResponderHabits:
    """How the simulated on-call person behaves; delays are exponential with these means."""

    acknowledge_mean_seconds: float
    resolve_mean_seconds: float
    miss_share: float
    resolve_share: float
    seed: int


@dataclass(frozen=True, slots=True)
class Response:
    """Seconds after the page to acknowledge and to resolve; None: never."""

    acknowledge_after: float | None
    resolve_after: float | None


def plan_response(habits: ResponderHabits, rng: random.Random) -> Response:
    if rng.random() < habits.miss_share:
        return Response(None, None)
    acknowledge_after = rng.expovariate(1.0 / habits.acknowledge_mean_seconds)
    if rng.random() >= habits.resolve_share:
        return Response(acknowledge_after, None)
    return Response(
        acknowledge_after,
        acknowledge_after + rng.expovariate(1.0 / habits.resolve_mean_seconds),
    )


def acknowledgement_for(dedup_key: str, action: AckAction, at: float) -> bytes:
    return (
        Acknowledgement(
            schema_version=1,
            dedup_key=dedup_key,
            action=action,
            actor=Actor.HUMAN,
            acted_at=datetime.fromtimestamp(at, tz=UTC),
            tool=SIMULATED_TOOL,
        )
        .model_dump_json(exclude_none=True)
        .encode()
    )


async def respond(settings: Settings, habits: ResponderHabits, duration: float) -> int:
    """Answer pages for ``duration`` seconds (0: until stopped); return the pages seen."""
    async with producer(settings.kafka_bootstrap) as client:
        responder = Responder(settings, habits, client)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(responder.run(), duration if duration > 0 else None)
        finally:
            responder.stop()
    return responder.pages


class Responder:
    """Follows the on-call topics from now on and answers each page on its own schedule."""

    def __init__(
        self, settings: Settings, habits: ResponderHabits, client: AIOKafkaProducer
    ) -> None:
        self.settings = settings
        self.habits = habits
        self.client = client
        self.rng = random.Random(habits.seed)
        self.pages = 0
        self._answers: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        async for _topic, escalation in follow_escalations(
            self.settings.kafka_bootstrap, self.settings.oncall_topic_prefix
        ):
            if escalation.event_action is EventAction.TRIGGER and escalation.severity.pages:
                self.pages += 1
                answer = asyncio.create_task(
                    self._answer(escalation, plan_response(self.habits, self.rng))
                )
                self._answers.add(answer)
                answer.add_done_callback(self._answers.discard)

    def stop(self) -> None:
        for answer in list(self._answers):
            answer.cancel()

    async def _answer(self, escalation: Escalation, response: Response) -> None:
        paged_at = time.time()
        steps = [
            (response.acknowledge_after, AckAction.ACKNOWLEDGED),
            (response.resolve_after, AckAction.RESOLVED),
        ]
        for after, action in steps:
            if after is None:
                return
            await asyncio.sleep(max(0.0, paged_at + after - time.time()))
            value = acknowledgement_for(escalation.dedup_key, action, time.time())
            await self.client.send_and_wait(
                self.settings.ack_topic, value, key=escalation.dedup_key.encode()
            )
