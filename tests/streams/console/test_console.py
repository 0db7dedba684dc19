"""The console process on the real broker, without a browser: store, dead letters, access."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from alerting.policy import load_policy
from localkafka import free_port
from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.dead_letter import DeadLetter, DeadLetterReason
from models.escalation import EventAction
from streams.console.run import RunningConsole, running_console
from streams.settings import Settings
from tests.support.incidents import escalation_v2, verdict
from tests.support.kafka import read_until, send_all

pytestmark = pytest.mark.kafka

POLICY = load_policy()


def settings_for(bootstrap: str, name: str, **overrides: object) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        app_id=f"{name}-app",
        oncall_topic_prefix=f"{name}.oncall.",
        ack_topic=f"{name}.acks",
        verdict_topic=f"{name}.verdicts",
        console_port=free_port(),
        **overrides,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def console(settings: Settings) -> AsyncIterator[RunningConsole]:
    async with running_console(settings, POLICY) as running:
        await asyncio.wait_for(running.feed.ready.wait(), 30)
        yield running


async def eventually(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_restarted_console_shows_the_same_incidents(bootstrap: str) -> None:
    name = f"cstore{time.time_ns()}"
    settings = settings_for(bootstrap, name)
    trigger = escalation_v2("k-restart", at=datetime.now(tz=UTC))
    async with console(settings) as first:
        await send_all(bootstrap, f"{name}.oncall.t", [(b"k-restart", trigger.to_json_bytes())])
        await eventually(lambda: first.feed.store.get("k-restart") is not None)
        before = first.feed.store.get("k-restart")
    async with console(settings) as second:
        assert second.feed.store.get("k-restart") == before
        resolve = escalation_v2(
            "k-restart", EventAction.RESOLVE, sequence=2, at=datetime.now(tz=UTC)
        )
        await send_all(bootstrap, f"{name}.oncall.t", [(b"k-restart", resolve.to_json_bytes())])
        await eventually(lambda: not second.feed.store.records["k-restart"].is_open)
        timeline = [entry.moment for entry in second.feed.store.records["k-restart"].timeline]
        assert timeline == ["trigger", "resolve"], "the trigger was not read twice"


async def test_an_unreadable_verdict_is_dead_lettered_and_counted(bootstrap: str) -> None:
    name = f"cdlq{time.time_ns()}"
    settings = settings_for(bootstrap, name)
    async with console(settings) as running:
        good = verdict("k-good")
        await send_all(
            bootstrap,
            settings.verdict_topic,
            [
                (b"k-bad", b'{"schema_version": 1, "verdict": "maybe"}'),
                (b"k-good", good.to_json_bytes()),
            ],
        )
        registry = running.feed.metrics.registry
        labels = {"source": "verdict", "reason": "missing_field"}
        await eventually(
            lambda: (
                running.feed.store.get("k-good") is not None
                and registry.get_sample_value("spikewatch_console_rejected_total", labels) == 1
            )
        )
    records = await read_until(
        bootstrap, [settings.resolved_verdict_dead_letter_topic], done=bool, within=20
    )
    (letter,) = [DeadLetter.model_validate_json(r.value or b"") for r in records]
    assert letter.reason is DeadLetterReason.MISSING_FIELD
    assert letter.source_topic == settings.verdict_topic


async def page_and_token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        assert response.status == 200
        found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert found is not None
    return found[1]


async def test_actions_need_the_csrf_token_and_a_signed_in_person_beyond_loopback(
    bootstrap: str, tmp_path: Path
) -> None:
    name = f"caccess{time.time_ns()}"
    settings = settings_for(
        bootstrap, name, console_host="127.0.0.2", console_proxy_user_header="X-Auth-Request-Email"
    )
    async with console(settings) as running:
        trigger = escalation_v2("k-access", at=datetime.now(tz=UTC))
        await send_all(bootstrap, f"{name}.oncall.t", [(b"k-access", trigger.to_json_bytes())])
        await eventually(lambda: running.feed.store.get("k-access") is not None)
        incident = f"{running.url}incident/k-access"
        person = {"X-Auth-Request-Email": "ana@example.org"}
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.post(f"{incident}/acknowledge", data={"csrf": "x"}) as refused,
        ):
            assert refused.status == 401
        jar = aiohttp.CookieJar(unsafe=True)  # the console is on an IP address
        async with aiohttp.ClientSession(headers=person, cookie_jar=jar) as session:
            token = await page_and_token(session, incident)
            async with session.post(f"{incident}/acknowledge", data={"csrf": "forged"}) as forged:
                assert forged.status == 403
            foreign = {"Origin": "https://evil.example"}
            async with session.post(
                f"{incident}/acknowledge", data={"csrf": token}, headers=foreign
            ) as cross_site:
                assert cross_site.status == 403
            async with session.post(
                f"{incident}/verdict",
                data={"csrf": token, "verdict": "confirmed"},
                allow_redirects=False,
            ) as accepted:
                assert accepted.status == 303
            async with session.post(
                f"{incident}/resolve", data={"csrf": token}, allow_redirects=False
            ) as resolved:
                assert resolved.status == 303
        records = await read_until(bootstrap, [settings.verdict_topic], done=bool, within=20)
        (written,) = records
        assert b"ana@example.org" not in (written.value or b""), "pseudonymous, never the login"
        assert re.search(rb'"actor":"p-[0-9a-f]{20}"', written.value or b"")
        (ack,) = await read_until(bootstrap, [settings.ack_topic], done=bool, within=20)
        answer = Acknowledgement.model_validate_json(ack.value or b"")
        assert (answer.action, answer.actor, answer.tool) == (
            AckAction.RESOLVED,
            Actor.HUMAN,
            "spikewatch-console",
        )
        await eventually(lambda: not running.feed.store.records["k-access"].is_open)


async def test_history_finds_resolved_incidents_and_the_summary_counts_them(
    bootstrap: str,
) -> None:
    name = f"chistory{time.time_ns()}"
    settings = settings_for(bootstrap, name)
    now = datetime.now(tz=UTC)
    events = [
        escalation_v2("k-old", at=now, broadcast_id="bc-history"),
        escalation_v2("k-old", EventAction.RESOLVE, sequence=2, at=now, broadcast_id="bc-history"),
        escalation_v2("k-other", at=now, broadcast_id="bc-elsewhere"),
    ]
    async with console(settings) as running:
        await send_all(
            bootstrap,
            f"{name}.oncall.t",
            [(e.dedup_key.encode(), e.to_json_bytes()) for e in events],
        )
        await send_all(
            bootstrap, settings.verdict_topic, [(b"k-old", verdict("k-old").to_json_bytes())]
        )
        store = running.feed.store
        await eventually(
            lambda: (
                (record := store.get("k-old")) is not None
                and not record.is_open
                and record.verdict is not None
                and store.get("k-other") is not None
            )
        )
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{running.url}history?broadcast=bc-history") as found:
                text = await found.text()
                assert "bc-history" in text
                assert "confirmed" in text
            async with session.get(f"{running.url}history?broadcast=bc-elsewhere") as open_only:
                assert "Nothing matches." in await open_only.text(), "still open"
            async with session.get(f"{running.url}history?date=yesterday") as bad:
                assert bad.status == 400
            async with session.get(f"{running.url}summary") as summary:
                text = await summary.text()
                day = re.search(
                    rf"<td>{now.date().isoformat()}</td><td>(\d+)</td><td>(\d+)</td>", text
                )
                assert day is not None
                assert (day[1], day[2]) == ("2", "1"), "two pages today, one judged"
                assert 'id="confirmed-chart"' in text


async def first_event(session: aiohttp.ClientSession, url: str) -> str:
    """The data of the first server-sent event of a stream."""
    async with session.get(url) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        lines = []
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if not line:
                break
            lines.append(line)
    return "\n".join(line.removeprefix("data: ") for line in lines if line.startswith("data: "))


async def test_the_live_list_streams_only_what_its_filter_asks_for(bootstrap: str) -> None:
    name = f"cstream{time.time_ns()}"
    settings = settings_for(bootstrap, name)
    trigger = escalation_v2("k-stream", at=datetime.now(tz=UTC), team="t", region="eu")
    async with console(settings) as running:
        await send_all(bootstrap, f"{name}.oncall.t", [(b"k-stream", trigger.to_json_bytes())])
        await eventually(lambda: running.feed.store.get("k-stream") is not None)
        async with aiohttp.ClientSession() as session:
            mine = await first_event(session, f"{running.url}events?team=t&region=eu")
            assert 'data-key="k-stream"' in mine
            other = await first_event(session, f"{running.url}events?region=us")
            assert "No open incidents." in other
            status = await first_event(session, f"{running.url}incident/k-stream/events")
            assert "acknowledged: <span" in status
