"""The Faust app the worker runs on: our topics made before the consumer subscribes, the
report topic read a fetch at a time, and a crash that always ends the process.

Only :mod:`streams.worker.app` builds it; the behaviour Faust does not give (see the
pitfalls listed there) lives here, apart from the worker's wiring.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import faust
from faust.types import TransportT

from alerting.policy import Policy
from streams.kafka.changelog import ChangelogWriter
from streams.kafka.ingest import BatchHandler, BatchingTransport, BatchRoute
from streams.kafka.security import client_options
from streams.kafka.topics import TopicLayout, ensure_topics
from streams.logs import get_logger
from streams.settings import Settings
from streams.worker.health import Liveness

log = get_logger("spikewatch.app")

CRASH_EXIT_STATUS = 70
"""EX_SOFTWARE: the worker crashed on an internal error."""


class SpikewatchFaustApp(faust.App):
    """A Faust app that creates our topics before its consumer subscribes, and reads
    the report topic a fetch at a time.

    Faust creates only internal topics; without this, a worker started with
    ``faust -A streams.worker.app worker`` on a fresh cluster would ignore the missing
    input topic until the next rebalance. The report topic has no agent: it is
    subscribed here and its messages reach ``batch_route`` through
    :class:`~streams.kafka.ingest.BatchingConsumer`.
    """

    def __init__(self, *args: Any, settings: Settings, policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spikewatch_settings = settings
        self._spikewatch_policy = policy
        self.topics_ready = False
        self.layout = TopicLayout()
        self.liveness = Liveness(settings.stall_seconds, time.monotonic())
        self.crashing = False
        self.fetch_max_wait_seconds = settings.fetch_max_wait_seconds
        self.changelog = ChangelogWriter(settings.kafka_bootstrap, client_options(settings))
        self.batch_route: BatchRoute | None = None
        self._batch_topic: faust.TopicT | None = None

    def route_batches(self, topic: faust.TopicT, handle: BatchHandler) -> None:
        self._batch_topic = topic
        self.batch_route = BatchRoute(frozenset({topic.get_topic_name()}), handle)

    async def on_shutdown(self) -> None:
        await super().on_shutdown()
        await self.changelog.stop()

    async def crash(self, reason: BaseException) -> None:
        """Crash, and make sure the process ends with a failure status within seconds.

        Faust's orderly stop after a crash could hang in "Stopping..." for good
        (seen with a state the broker refused), leaving a process that decides
        nothing; ending it lets its supervisor restart it.
        """
        self.liveness.failed(type(reason).__name__)
        if not self.crashing:
            self.crashing = True
            log.critical(
                "worker_crashed",
                error=type(reason).__name__,
                detail=str(reason),
                exit_status=CRASH_EXIT_STATUS,
                action="the process exits; its supervisor restarts it",
            )
            asyncio.get_running_loop().call_later(
                self._spikewatch_settings.crash_exit_seconds, os._exit, CRASH_EXIT_STATUS
            )
        await super().crash(reason)

    def _new_transport(self) -> TransportT:
        return BatchingTransport(self.conf.broker_consumer, self)

    async def prepare_topics(self) -> None:
        """Create missing topics and check the input's partitioning, once per process."""
        if self.topics_ready:
            return
        self.layout = await ensure_topics(self._spikewatch_settings, self._spikewatch_policy)
        if self.layout.created:
            log.info("topics_created", topics=self.layout.created)
        self.topics_ready = True

    async def on_first_start(self) -> None:
        self._spikewatch_settings.data_dir.mkdir(parents=True, exist_ok=True)
        await super().on_first_start()
        await self.prepare_topics()
        await self.changelog.start()
        if self._batch_topic is not None:
            self.topics.add(self._batch_topic)
