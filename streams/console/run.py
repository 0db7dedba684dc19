"""``spikewatch console``: restore the store, follow the topics, serve the pages."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from structlog import get_logger

from alerting.policy import Policy
from models.errors import SpikewatchError
from oncall.console.access import parse_tokens, requires_auth
from streams.console.context import Access, ConsoleContext
from streams.console.feed import Changes, ConsoleFeed
from streams.console.metrics import ConsoleMetrics
from streams.console.store import IncidentStore, ensure_console_topics, restore_records
from streams.console.web import make_app
from streams.kafka.clients import producer
from streams.kafka.security import client_options
from streams.settings import Settings

log = get_logger("spikewatch.console")


class ConsoleAccessError(SpikewatchError):
    """Bound beyond loopback with no way for people to sign in."""

    remedy = (
        "set SPIKEWATCH_CONSOLE_TOKEN_FILE or SPIKEWATCH_CONSOLE_PROXY_USER_HEADER "
        "(see docs/console.md), or bind SPIKEWATCH_CONSOLE_HOST=127.0.0.1"
    )


def access_for(settings: Settings) -> Access:
    tokens = {}
    if settings.console_token_file is not None:
        tokens = parse_tokens(settings.console_token_file.read_text(encoding="utf-8"))
    elif settings.console_token is not None:
        tokens = parse_tokens(settings.console_token.get_secret_value())
    if requires_auth(settings.console_host) and not (tokens or settings.console_proxy_user_header):
        raise ConsoleAccessError(
            f"the console is bound to {settings.console_host}, beyond loopback, "
            "without authentication"
        )
    key_file = settings.console_pseudonym_key_file
    key = key_file.read_bytes().strip() if key_file is not None else settings.app_id.encode()
    return Access(
        host=settings.console_host,
        tokens=tokens,
        proxy_user_header=settings.console_proxy_user_header,
        pseudonym_key=key,
    )


@dataclass
class RunningConsole:
    url: str
    feed: ConsoleFeed
    tasks: list[asyncio.Task[None]]


@contextlib.asynccontextmanager
async def running_console(settings: Settings, policy: Policy) -> AsyncIterator[RunningConsole]:
    """The whole console, started; stopped on leaving the block."""
    access = access_for(settings)
    options: dict[str, Any] = client_options(settings)
    store_partitions = await ensure_console_topics(settings, options)
    store_topic = settings.resolved_console_store_topic
    restored = await restore_records(
        settings.kafka_bootstrap, store_topic, store_partitions, options
    )
    async with producer(settings.kafka_bootstrap, **options) as writer:
        store = IncidentStore(writer, store_topic)
        store.records.update(restored)
        metrics, changes = ConsoleMetrics(), Changes()
        feed = ConsoleFeed(settings, store, writer, metrics, changes, options)
        app = make_app(
            ConsoleContext(
                store=store,
                producer=writer,
                metrics=metrics,
                changes=changes,
                policy=policy.oncall,
                access=access,
                ack_topic=settings.ack_topic,
                verdict_topic=settings.verdict_topic,
                report_url_template=settings.console_report_url_template,
            )
        )
        runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
        await runner.setup()
        tasks = [asyncio.create_task(feed.run()), asyncio.create_task(feed.sweep_forever())]
        try:
            await web.TCPSite(runner, settings.console_host, settings.console_port).start()
            url = f"http://{settings.console_host}:{settings.console_port}/"
            log.info("console_started", url=url, incidents=len(restored), auth=access.required)
            yield RunningConsole(url=url, feed=feed, tasks=tasks)
        finally:
            await runner.cleanup()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def serve_console(settings: Settings, policy: Policy) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_console(settings, policy) as console:
        print(f"spikewatch console: {console.url}", flush=True)
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopped, *console.tasks], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        for task in done:
            if task is not stopped:
                task.result()  # a reader that stopped on its own: let its error surface
    return 0
