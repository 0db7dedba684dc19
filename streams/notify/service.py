"""Runs ``spikewatch notify``: a consumer per sink, the web endpoint, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import aiohttp
import structlog
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient

from oncall.delivery.config import NotifyConfig
from streams.kafka.clients import producer
from streams.kafka.security import client_options
from streams.kafka.topics import create_missing_topics
from streams.notify.client import SinkClient
from streams.notify.metrics import NotifyMetrics
from streams.notify.sink_worker import SinkWorker
from streams.notify.web import notify_web_app
from streams.settings import Settings

log = structlog.get_logger("spikewatch.notify")
STOP_GRACE_SECONDS = 5.0
"""A sink retrying a request is not waited for at shutdown: its offset is not committed yet."""


async def ensure_notify_topics(settings: Settings) -> None:
    """The dead-letter and acknowledgement topics, created if missing (same partition count)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **client_options(settings)
    )
    try:
        await admin.start()
        await create_missing_topics(
            admin, settings, [settings.notify_dead_letter_topic, settings.ack_topic]
        )
    finally:
        await admin.close()


async def run_notify(
    settings: Settings,
    config: NotifyConfig,
    teams: frozenset[str],
    stopping: asyncio.Event | None = None,
) -> int:
    """Deliver until ``stopping`` is set (or SIGTERM/SIGINT); 1 if a sink's consumer failed."""
    stop = stopping if stopping is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    metrics = NotifyMetrics([sink.name for sink in config.sinks], teams)
    await ensure_notify_topics(settings)
    start_ms = int((time.time() - settings.notify_new_group_lookback_seconds) * 1000)
    async with (
        producer(settings.kafka_bootstrap, **client_options(settings)) as kafka_producer,
        aiohttp.ClientSession() as session,
    ):
        runner = web.AppRunner(
            notify_web_app(config.acks, kafka_producer, settings.ack_topic, metrics),
            access_log=None,
        )
        await runner.setup()
        await web.TCPSite(runner, settings.notify_web_host, settings.notify_web_port).start()
        log.info(
            "notify started",
            sinks=[sink.name for sink in config.sinks],
            web=f"http://{settings.notify_web_host}:{settings.notify_web_port}",
        )
        workers = [
            SinkWorker(
                sink,
                config,
                settings,
                SinkClient(sink.name, sink.retry, session, metrics),
                kafka_producer,
                metrics,
                start_ms,
            )
            for sink in config.sinks
        ]
        tasks = [asyncio.create_task(worker.run(stop), name=worker.group) for worker in workers]
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            failed = [task for task in done if task is not stopped and task.exception()]
            for task in failed:
                log.error(
                    "sink consumer failed", group=task.get_name(), error=str(task.exception())
                )
            stop.set()
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            return 1 if failed else 0
        finally:
            stopped.cancel()
            await runner.cleanup()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
