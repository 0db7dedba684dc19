"""``spikewatch respond`` on the real broker: pages in, acknowledgements out."""

from __future__ import annotations

import asyncio
import time

import pytest

from models.acknowledgement import AckAction, Acknowledgement
from models.escalation import Severity
from streams.settings import Settings
from streams.tools.respond import ResponderHabits, respond
from tests.support.escalations import escalation
from tests.support.kafka import Record, read_until, send_all

pytestmark = pytest.mark.kafka


def acknowledgements(records: list[Record]) -> list[Acknowledgement]:
    return [Acknowledgement.model_validate_json(r.value or b"") for r in records]


def resolved_one(records: list[Record]) -> bool:
    return any(ack.action is AckAction.RESOLVED for ack in acknowledgements(records))


async def pages_until_answered(settings: Settings) -> tuple[set[str], list[Acknowledgement]]:
    """Page (and send a non-paging warning) every second until answers come back.

    The responder follows from the newest offset, so pages sent before its
    consumer is assigned are not its business; repeating until one is answered
    needs no sleep-as-assertion.
    """
    sent: set[str] = set()
    topic = f"{settings.oncall_topic_prefix}t"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        key = f"page-{len(sent)}"
        sent.add(key)
        warning = escalation(f"warning-{len(sent)}", severity=Severity.WARNING)
        messages = [
            (key.encode(), escalation(key, severity=Severity.CRITICAL).to_json_bytes()),
            (warning.dedup_key.encode(), warning.to_json_bytes()),
        ]
        await send_all(settings.kafka_bootstrap, topic, messages)
        records = await read_until(
            settings.kafka_bootstrap, [settings.ack_topic], done=resolved_one, within=1.0
        )
        if resolved_one(records):
            return sent, acknowledgements(records)
    raise AssertionError("the responder answered no page within 60 s")


async def scenario(settings: Settings) -> tuple[set[str], list[Acknowledgement]]:
    habits = ResponderHabits(
        acknowledge_mean_seconds=0.05,
        resolve_mean_seconds=0.05,
        miss_share=0.0,
        resolve_share=1.0,
        seed=1,
    )
    responder = asyncio.create_task(respond(settings, habits, duration=90))
    sent, acks = await pages_until_answered(settings)
    responder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await responder
    return sent, acks


def test_responder_acknowledges_then_resolves_pages_and_ignores_warnings(
    bootstrap: str,
) -> None:
    name = f"respond{time.time_ns()}"
    settings = Settings(
        kafka_bootstrap=bootstrap,
        oncall_topic_prefix=f"{name}.oncall.",
        ack_topic=f"{name}.acks",
    )
    sent, acks = asyncio.run(scenario(settings))
    answered = {ack.dedup_key for ack in acks}
    assert answered <= sent, "warnings page nobody, so nobody answers them"
    for key in answered:
        actions = [ack.action for ack in acks if ack.dedup_key == key]
        assert actions in ([AckAction.ACKNOWLEDGED], [AckAction.ACKNOWLEDGED, AckAction.RESOLVED])
    assert any(ack.tool == "simulated-oncall" for ack in acks)
