"""The worker's wiring: settings, policy, topics, tables, the batch loop, timers and pages.

Run it with ``spikewatch worker``. Nothing is built at import: :func:`create` is
the factory, and ``faust -A streams.worker.app worker`` still works because the
module's ``app`` attribute is made on first access (PEP 562), from the
environment, when Faust's command line asks for it.

Choices forced by Faust's known pitfalls (see DESIGN.md):

* reports are read as raw bytes a whole fetch at a time (:mod:`streams.kafka.ingest`)
  and validated by the pipeline, since a Faust decode error acks the message and
  kills the agent, and Faust's per-message delivery cost more than deciding;
* state lives in a plain (not windowed) table, one value per broadcast, with
  windows kept by the core on event time;
* the tables compute their changelog partition from the key
  (:mod:`streams.kafka.tables`), which lets the batch loop and the resolve timer
  write outside a single event's context; the input is keyed by ``broadcast_id``
  with the same partitioner, so a broadcast's input partition and its changelog
  partition are the same number (reports with a wrong key are re-published with
  the right one first);
* the order of sends, state writes and acknowledgements is the batch loop's
  (:mod:`streams.worker.batch`); states go straight to the changelog in one
  produce batch per partition (:mod:`streams.kafka.changelog`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import faust
from faust.types import Message
from mode.types.signals import BaseSignalT
from prometheus_client import disable_created_metrics

from alerting.engine import DetectionEngine
from alerting.policy import Policy, PolicyError, load_policy
from streams.kafka.security import faust_credentials
from streams.kafka.tables import bytes_table, key_partition
from streams.kafka.topics import (
    SHADOW_STATE_TABLE,
    STATE_TABLE,
    STATE_TOPIC_CONFIG,
    TIMELINE_TABLE,
)
from streams.logs import get_logger, logging_config
from streams.settings import Settings, load_settings
from streams.worker.batch import BatchLoop, Outbox, Outputs, input_message
from streams.worker.faust_app import SpikewatchFaustApp
from streams.worker.gc_pauses import GcPauses
from streams.worker.lag import LAG_INTERVAL_SECONDS, LagProbe
from streams.worker.metrics import WorkerMetrics
from streams.worker.oncall_kpis import OncallKpiRecorder
from streams.worker.outputs import OutputWriter
from streams.worker.pipeline import ReportPipeline
from streams.worker.shadow import ShadowLane
from streams.worker.state_cache import BroadcastStates
from streams.worker.watchlist_file import WatchlistFile, policy_watchlist
from streams.worker.web import add_pages

log = get_logger("spikewatch.app")


class Spikewatch:
    """Wires settings, policy, metrics and the core into one Faust app."""

    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: 2x scrape, unread
        self.metrics = WorkerMetrics(policy.teams)
        self.metrics.policy.info({"policy_version": policy.policy_version})
        self.watchlist = WatchlistFile(policy)
        self.engine = DetectionEngine(policy, watchlist=self.watchlist.current())
        self.app = SpikewatchFaustApp(
            settings.app_id,
            settings=settings,
            policy=policy,
            broker=settings.faust_broker,
            store=settings.store,
            datadir=str(settings.data_dir),
            autodiscover=False,
            web_enabled=True,
            web_bind=settings.web_host,
            web_host=settings.web_host,
            web_port=settings.web_port,
            topic_partitions=settings.topic_partitions,
            topic_replication_factor=settings.topic_replication_factor,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            producer_max_request_size=settings.producer_max_request_bytes,
            broker_credentials=faust_credentials(settings),
            broker_session_timeout=settings.kafka_session_timeout_seconds,
            broker_commit_interval=settings.commit_interval_seconds,
            consumer_max_fetch_size=settings.fetch_max_bytes_per_partition,
            table_standby_replicas=settings.table_standby_replicas,
            logging_config=logging_config(settings.log_level),
        )
        self.input_topic = self._raw_topic(settings.input_topic)
        self.oncall_topics = {
            team: self._raw_topic(settings.oncall_topic(team)) for team in sorted(policy.teams)
        }
        self.table = bytes_table(
            self.app, STATE_TABLE, settings.topic_partitions, STATE_TOPIC_CONFIG
        )
        self.states = BroadcastStates(self.app.changelog.store(self.table), self._partition_of)
        self.metrics.learners.show(self.states.cached_learners, policy)
        self.shadow, shadow_topic = self._shadow_lane(settings)
        if self.shadow is not None:
            self.metrics.learners.show(
                self.shadow.states.cached_learners, self.shadow.engine.policy, lane="shadow"
            )
        self.pipeline = ReportPipeline(
            self.engine,
            self.states,
            self.metrics,
            max_message_bytes=settings.max_message_bytes,
            max_future_skew_seconds=settings.max_future_skew_seconds,
            shadow=self.shadow,
        )
        self.outbox = Outbox(
            Outputs(
                dead_letters=self._raw_topic(settings.resolved_dead_letter_topic),
                input=self.input_topic,
                oncall=self.oncall_topics,
                shadow=shadow_topic,
            ),
            self.metrics,
            OutputWriter(
                self.metrics,
                lambda topic: self.app.layout.limit(topic),
                settings.producer_max_request_bytes,
                self._raw_topic(settings.escalation_dead_letter_topic),
            ),
        )
        self.batches = BatchLoop(
            self.pipeline,
            self.outbox,
            self.app.changelog,
            batch_max_messages=settings.batch_max_messages,
            write_interval_seconds=settings.state_write_interval_seconds,
            acknowledge=lambda message: self.app.consumer.ack(message),
            crash=self.app.crash,
        )
        self.lag = LagProbe(
            lambda: self.app.consumer, self._owned_input_partitions, self.pipeline, self.metrics
        )
        self._first_lag_probe: asyncio.Future[None] | None = None
        self._build_oncall_loop()
        self._register()

    def _build_oncall_loop(self) -> None:
        """Acknowledgements and our own escalations in, KPI timelines per incident kept.

        See :mod:`streams.worker.oncall_kpis` for why both are read on one
        co-partitioned agent.
        """
        settings = self.settings
        self.ack_topic = self._raw_topic(settings.ack_topic)
        self.ack_dead_letter_topic = self._raw_topic(settings.resolved_ack_dead_letter_topic)
        self.oncall_sources = self._raw_topic(
            settings.ack_topic,
            *(topic.get_topic_name() for topic in self.oncall_topics.values()),
        )
        self.timelines = bytes_table(
            self.app, TIMELINE_TABLE, self.settings.topic_partitions, STATE_TOPIC_CONFIG
        )
        self.kpis = OncallKpiRecorder(
            self.timelines,
            self.policy.oncall,
            self.metrics,
            ack_topic=settings.ack_topic,
            partition_of=self._partition_of,
            max_message_bytes=settings.max_message_bytes,
        )

    def _raw_topic(self, *names: str) -> faust.TopicT:
        return self.app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.topic_partitions,
        )

    def _shadow_lane(self, settings: Settings) -> tuple[ShadowLane | None, faust.TopicT | None]:
        """A candidate policy with its own table (own changelog) and its own topic."""
        if settings.shadow_policy_file is None:
            return None, None
        shadow_policy = load_policy(settings.shadow_policy_file)
        topic = self.app.topic(
            settings.shadow_topic,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.topic_partitions,
        )
        table = bytes_table(
            self.app, SHADOW_STATE_TABLE, settings.topic_partitions, STATE_TOPIC_CONFIG
        )
        log.info("shadow_policy_loaded", policy_version=shadow_policy.policy_version)
        lane = ShadowLane(
            DetectionEngine(shadow_policy, watchlist=policy_watchlist(shadow_policy)),
            BroadcastStates(self.app.changelog.store(table), self._partition_of),
        )
        return lane, topic

    def _register(self) -> None:
        app = self.app
        app.route_batches(self.input_topic, self._handle_fetch)
        app.agent(self.oncall_sources, name="oncall-kpis")(self._consume_oncall_loop)
        app.timer(self.settings.tick_interval_seconds)(self._tick)
        app.timer(LAG_INTERVAL_SECONDS)(self.lag.measure)
        app.task(self._announce_start)
        app.on_partitions_revoked.connect(self._write_before_handing_on)
        app.on_before_shutdown.connect(self._write_before_handing_on)
        add_pages(app, self.metrics.registry, self.health)
        self.table.on_recover(self._on_recovered)

    async def _handle_fetch(self, messages: Sequence[Message]) -> None:
        """A fetch decided is the progress ``/healthz`` looks for (see streams.worker.health)."""
        await self.batches.handle_fetch(messages)
        self.app.liveness.progressed(time.monotonic())

    async def _write_before_handing_on(
        self, _sender: Any, /, *_args: Any, signal: BaseSignalT[Any], **_kwargs: Any
    ) -> None:
        """Before a rebalance or an orderly stop, write the states decided so far, so that
        whoever reads these partitions next restores them rather than deciding again
        (and re-sending their escalations). Not after a crash: a changelog that
        refused a write would refuse this one too."""
        if not self.app.crashing:
            await self.batches.write_decided()

    async def _consume_oncall_loop(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            output = self.kpis.process(input_message(event.message), time.time())
            pending = await self.outbox.send_refused(
                output.dead_letters, self.ack_dead_letter_topic, output.reroutes, self.ack_topic
            )
            if pending:
                await asyncio.gather(*pending)

    async def _tick(self) -> None:
        self._reload_watchlist()
        lanes = [self.states] if self.shadow is None else [self.states, self.shadow.states]
        open_incidents = await self.batches.resolve_and_evict(
            self.lag.partition_clocks(time.time()), lanes
        )
        self.metrics.open_incidents.set(open_incidents)
        self.metrics.broadcasts_tracked.set(len(self.states))
        self.kpis.sweep(
            time.time(), {tp.partition for tp in self._owned_partitions(self.ack_topic)}
        )
        self.metrics.last_progress.set(time.time())

    def _owned_input_partitions(self) -> list[Any]:
        return self._owned_partitions(self.input_topic)

    def _owned_partitions(self, topic: faust.TopicT) -> list[Any]:
        name = topic.get_topic_name()
        return [tp for tp in self.app.assignor.assigned_actives() if tp.topic == name]

    def _partition_of(self, key: bytes) -> int:
        """The input partition of a broadcast key: Kafka's default partitioner."""
        return key_partition(key, self.settings.topic_partitions)

    def _reload_watchlist(self) -> None:
        """Hand the engine the new watchlist when its file changed; keep the old one if broken."""
        try:
            changed = self.watchlist.changed()
        except PolicyError as error:
            log.error("watchlist_unreadable", error=str(error))
            return
        if changed is not None:
            self.engine.routing.watchlist = changed
            log.info("watchlist_reloaded", broadcasters=len(changed))

    async def _on_recovered(self) -> None:
        """Rebuild the working set, and show the lag at once: a worker restarting behind a
        backlog may work it off before the lag timer's first run."""
        owned = {tp.partition for tp in self._owned_input_partitions()}
        self.states.reload(owned)
        if self.shadow is not None:
            self.shadow.states.reload(owned)
        self.lag.recovered_at = time.monotonic()
        for state in self.states:
            if state.watermark is not None:
                partition = self.states.partition(state.broadcast_id)
                self.pipeline.stream_times[partition] = max(
                    state.watermark, self.pipeline.stream_times.get(partition, state.watermark)
                )
        log.info("state_recovered", broadcasts=len(self.states))
        self._first_lag_probe = asyncio.ensure_future(self.lag.measure())

    async def _announce_start(self) -> None:
        self.metrics.up.set(1)
        limit = self.outbox.writer.limit
        self.pipeline.dead_letter_record_limit = limit(self.settings.resolved_dead_letter_topic)
        self.kpis.dead_letter_record_limit = limit(self.settings.resolved_ack_dead_letter_topic)
        GcPauses(
            self.metrics.gc_pauses,
            self.metrics.gc_frozen_objects,
            freeze_survivors=self.settings.gc_freeze_survivors,
        ).install()
        log.info(
            "worker_started",
            input_topic=self.settings.input_topic,
            policy_version=self.policy.policy_version,
            oncall_topics=sorted(t.get_topic_name() for t in self.oncall_topics.values()),
        )

    def health(self) -> dict[str, Any]:
        """``status`` is ok, or the reason the worker is not deciding (served with a 503)."""
        problem = self.app.liveness.problem(
            time.monotonic(),
            waiting=self.lag.waiting,
            recovering=bool(getattr(self.app, "in_recovery", False)),
        )
        return {
            "status": problem or "ok",
            "policy_version": self.policy.policy_version,
            "broadcasts": len(self.states),
            "partitions": sorted(tp.partition for tp in self._owned_input_partitions()),
        }


def create(settings: Settings | None = None) -> Spikewatch:
    """The factory: one worker from the settings (the environment's when None) and the
    policy file they name."""
    settings = settings if settings is not None else load_settings()
    return Spikewatch(settings, load_policy(settings.policy_file))


_created: Spikewatch | None = None


def __getattr__(name: str) -> Any:
    """``app`` for ``faust -A streams.worker.app``, built on first access, never on import."""
    global _created
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _created is None:
        _created = create()
    return _created.app
