"""The Faust application: topics, the broadcast-state table, the agent and timers.

Run it with ``spikewatch worker`` (or ``faust -A streams.worker.app worker``). The module
builds ``app`` from :class:`~streams.settings.Settings` at import, as Faust's
command line expects.

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
* escalations are sent with ``force=True`` and awaited before the batch is
  acknowledged: never held back until commit, never lost if the worker dies;
* a batch's states are written only after its escalations are acknowledged,
  straight to the changelog in one produce batch per partition
  (:mod:`streams.kafka.changelog`), and its reports are acknowledged only after the
  states are; the batch loop and the resolve timer take turns (one lock), so the
  changelog never holds a decision whose escalation was not yet sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any

import faust
from faust.types import Message, TransportT
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics
from prometheus_client.exposition import choose_encoder

from alerting.engine import DetectionEngine
from alerting.policy import Policy, PolicyError, load_policy
from models.dead_letter import DeadLetter
from models.escalation import Escalation
from streams.kafka.changelog import ChangelogWriter
from streams.kafka.ingest import BatchHandler, BatchingTransport, BatchRoute, stopping
from streams.kafka.security import client_options, faust_credentials
from streams.kafka.tables import bytes_table, key_partition
from streams.kafka.topics import ensure_topics
from streams.logs import get_logger, logging_config
from streams.settings import Settings
from streams.worker.clocks import partition_clock
from streams.worker.gc_pauses import GcPauses
from streams.worker.metrics import WorkerMetrics
from streams.worker.oncall_kpis import KpiOutput, OncallKpiRecorder
from streams.worker.pipeline import BatchOutput, InputMessage, ReportPipeline
from streams.worker.shadow import ShadowLane
from streams.worker.state_cache import BroadcastStates
from streams.worker.watchlist_file import WatchlistFile, policy_watchlist

log = get_logger("spikewatch.app")

LAG_INTERVAL_SECONDS = 5.0
"""How often end offsets are asked of the broker: well inside any scrape interval."""

MAX_BATCHES_IN_FLIGHT = 4
"""Batches whose states may be on their way to the changelog while the next is decided."""


class _SpikewatchApp(faust.App):
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

    def _new_transport(self) -> TransportT:
        return BatchingTransport(self.conf.broker_consumer, self)

    async def prepare_topics(self) -> None:
        """Create missing topics and check the input's partitioning, once per process."""
        if self.topics_ready:
            return
        created = await ensure_topics(self._spikewatch_settings, self._spikewatch_policy)
        if created:
            log.info("topics_created", topics=created)
        self.topics_ready = True

    async def on_first_start(self) -> None:
        self._spikewatch_settings.data_dir.mkdir(parents=True, exist_ok=True)
        await super().on_first_start()
        await self.prepare_topics()
        await self.changelog.start()
        if self._batch_topic is not None:
            self.topics.add(self._batch_topic)


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
        self._lag_partitions: set[int] = set()
        self.app = _SpikewatchApp(
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
            broker_credentials=faust_credentials(settings),
            broker_session_timeout=settings.kafka_session_timeout_seconds,
            broker_commit_interval=settings.commit_interval_seconds,
            consumer_max_fetch_size=settings.fetch_max_bytes_per_partition,
            table_standby_replicas=settings.table_standby_replicas,
            logging_config=logging_config(settings.log_level),
        )
        self.input_topic = self._raw_topic(settings.input_topic)
        self.dead_letter_topic = self._raw_topic(settings.resolved_dead_letter_topic)
        self.oncall_topics = {
            team: self._raw_topic(settings.oncall_topic(team)) for team in sorted(policy.teams)
        }
        self.table = bytes_table(self.app, "broadcast-state", settings.topic_partitions)
        self.changelog = self.app.changelog
        self.states = BroadcastStates(self.changelog.store(self.table), self._partition_of)
        self._acknowledging: deque[asyncio.Future[None]] = deque()
        self._first_lag_probe: asyncio.Future[None] | None = None
        self.shadow = self._shadow_lane(settings)
        self._state_turn = asyncio.Lock()
        self._recovered_at = time.monotonic()
        self.pipeline = ReportPipeline(
            self.engine,
            self.states,
            self.metrics,
            max_message_bytes=settings.max_message_bytes,
            max_future_skew_seconds=settings.max_future_skew_seconds,
            shadow=self.shadow,
        )
        self._build_oncall_loop()
        self._register()

    def _build_oncall_loop(self) -> None:
        """Acknowledgements and our own escalations in, KPI timelines per incident kept.

        See :mod:`streams.worker.oncall_kpis` for why both are read on one co-partitioned agent.
        """
        settings = self.settings
        self.ack_topic = self._raw_topic(settings.ack_topic)
        self.ack_dead_letter_topic = self._raw_topic(settings.resolved_ack_dead_letter_topic)
        self.oncall_sources = self._raw_topic(
            settings.ack_topic,
            *(topic.get_topic_name() for topic in self.oncall_topics.values()),
        )
        self.timelines = bytes_table(self.app, "incident-timelines", self.settings.topic_partitions)
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

    def _shadow_lane(self, settings: Settings) -> ShadowLane | None:
        """A candidate policy with its own table (own changelog) and its own topic."""
        if settings.shadow_policy_file is None:
            return None
        shadow_policy = load_policy(settings.shadow_policy_file)
        self.shadow_topic = self.app.topic(
            settings.shadow_topic,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.topic_partitions,
        )
        self.shadow_table = bytes_table(
            self.app, "broadcast-state-shadow", settings.topic_partitions
        )
        log.info("shadow_policy_loaded", policy_version=shadow_policy.policy_version)
        return ShadowLane(
            DetectionEngine(shadow_policy, watchlist=policy_watchlist(shadow_policy)),
            BroadcastStates(self.app.changelog.store(self.shadow_table), self._partition_of),
        )

    def _register(self) -> None:
        app = self.app
        app.route_batches(self.input_topic, self._ingest)
        app.agent(self.oncall_sources, name="oncall-kpis")(self._consume_oncall_loop)
        app.timer(self.settings.tick_interval_seconds)(self._tick)
        app.timer(LAG_INTERVAL_SECONDS)(self._measure_lag)
        app.task(self._announce_start)
        spikewatch = self

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            encoder, content_type = choose_encoder(
                request.headers.get("Accept", CONTENT_TYPE_LATEST)
            )
            return web.bytes(
                encoder(spikewatch.metrics.registry), headers={"Content-Type": content_type}
            )

        @app.page("/healthz")
        async def health(web: Any, _request: Any) -> Any:
            return web.json(spikewatch.health())

        self.table.on_recover(self._on_recovered)

    async def _ingest(self, messages: Sequence[Message]) -> None:
        """One fetch of reports: decided in batches of at most ``batch_max_messages``,
        each batch's escalations sent as soon as it is decided, and the states of the
        whole fetch written once, after all of them.

        A broadcast touched by several batches of a fetch is encoded and written
        once, while no escalation waits for more than one batch. Every message is
        decided and acknowledged, even of a partition revoked meanwhile (the commit
        of a revoked partition is discarded and its new owner reads it again, as
        with a Faust agent): a message left unacknowledged could let Faust commit
        past it, since Faust's commit logic assumes acknowledgements come in offset
        order.
        """
        size = self.settings.batch_max_messages
        async with self._state_turn:
            decided = [
                await self._decide(messages[start : start + size])
                for start in range(0, len(messages), size)
            ]
            self.pipeline.save(*decided)
            written = self.changelog.flush()
        await self._acknowledge_when_written(written, messages)
        self.metrics.last_progress.set(time.time())

    async def _consume_oncall_loop(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            output = self.kpis.process(_input_message(event.message), time.time())
            await self._send_oncall_output(output)

    async def _send_oncall_output(self, output: KpiOutput) -> None:
        pending = await self._send_refused(
            output.dead_letters, self.ack_dead_letter_topic, output.reroutes, self.ack_topic
        )
        if pending:
            await asyncio.gather(*pending)

    async def _decide(self, messages: Sequence[Message]) -> BatchOutput:
        """Decide one batch and send what it decided; its states are the caller's to save."""
        received = time.time()
        output = self.pipeline.process(_input_message(message) for message in messages)
        await self._send(output)
        sent = time.time()
        for escalation in output.escalations:
            self.metrics.observe_ingest_to_escalation(
                sent - received, escalation.labels.broadcast_id
            )
        if output.newest_event_time is not None:
            self.metrics.event_time_lag.set(max(0.0, sent - output.newest_event_time))
        return output

    async def _acknowledge_when_written(
        self, written: asyncio.Future[None], messages: Sequence[Message]
    ) -> None:
        """Acknowledge a batch's reports once its states are in the changelog.

        The next batch is decided meanwhile; at most ``MAX_BATCHES_IN_FLIGHT``
        batches wait for Kafka, so a slow broker slows the worker instead of
        piling up memory. Batches are acknowledged in the order they were
        decided, each after the one before: Faust commits the first run of
        consecutive acknowledged offsets, and on a fresh group (nothing
        committed yet) it does not check that the run starts where reading
        started, so a later batch acknowledged first could be committed ahead of
        states not yet written. A failed write stops the worker: its reports
        stay unacknowledged and are decided again after the restart.
        """
        consumer = self.app.consumer
        previous = self._acknowledging[-1] if self._acknowledging else None

        async def acknowledge() -> None:
            if previous is not None:
                await previous
            try:
                await written
            except (Exception, asyncio.CancelledError) as error:
                if not stopping():
                    log.critical(
                        "state_write_failed", error=type(error).__name__, detail=str(error)
                    )
                    await self.app.crash(error)
                raise
            for message in messages:
                consumer.ack(message)

        self._acknowledging.append(asyncio.ensure_future(acknowledge()))
        while len(self._acknowledging) > MAX_BATCHES_IN_FLIGHT:
            await self._acknowledging.popleft()

    async def _send(self, output: BatchOutput) -> None:
        pending = await self._send_refused(
            output.dead_letters, self.dead_letter_topic, output.reroutes, self.input_topic
        )
        pending.extend(await self._send_escalations(output.escalations))
        pending.extend(await self._send_shadow(output.shadow_escalations))
        if pending:
            await asyncio.gather(*pending)

    async def _send_refused(
        self,
        dead_letters: list[tuple[bytes | None, DeadLetter]],
        dead_letter_topic: faust.TopicT,
        reroutes: list[tuple[bytes, bytes]],
        home_topic: faust.TopicT,
    ) -> list[Awaitable[Any]]:
        """Dead letters out, and messages with the wrong key back to their topic, keyed right."""
        pending: list[Awaitable[Any]] = []
        for key, letter in dead_letters:
            pending.append(
                await dead_letter_topic.send(
                    key=key, value=letter.model_dump_json().encode(), force=True
                )
            )
        for key, value in reroutes:
            pending.append(await home_topic.send(key=key, value=value, force=True))
        return pending

    async def _send_shadow(self, escalations: list[Escalation]) -> list[Awaitable[Any]]:
        return [
            await self.shadow_topic.send(
                key=escalation.dedup_key.encode(), value=escalation.to_json_bytes(), force=True
            )
            for escalation in escalations
        ]

    async def _send_escalations(self, escalations: list[Escalation]) -> list[Awaitable[Any]]:
        pending: list[Awaitable[Any]] = []
        for escalation in escalations:
            topic = self.oncall_topics[escalation.labels.team]
            pending.append(
                await topic.send(
                    key=escalation.dedup_key.encode(),
                    value=escalation.to_json_bytes(),
                    force=True,
                )
            )
            self.metrics.count_escalation(escalation)
        return pending

    async def _tick(self) -> None:
        self._reload_watchlist()
        async with self._state_turn:
            await self._resolve_and_evict(self._partition_clocks(time.time()))
        self.kpis.sweep(
            time.time(), {tp.partition for tp in self._owned_partitions(self.ack_topic)}
        )
        self.metrics.last_progress.set(time.time())

    async def _resolve_and_evict(self, clocks: dict[int, float]) -> None:
        """Resolve quiet incidents and drop idle state; write only what Kafka acknowledged."""
        owned = set(clocks)
        self.states.retain(owned)
        if self.shadow is not None:
            self.shadow.states.retain(owned)
        ticked = self.pipeline.tick(clocks)
        for escalation in ticked.escalations:
            log.info(
                "incident_resolved",
                broadcast_id=escalation.labels.broadcast_id,
                dedup_key=escalation.dedup_key,
            )
        pending = await self._send_escalations(ticked.escalations)
        pending.extend(await self._send_shadow(ticked.shadow_escalations))
        if pending:
            await asyncio.gather(*pending)
        self.pipeline.commit(ticked)
        await self.changelog.flush()
        self.metrics.open_incidents.set(ticked.open_incidents)
        self.metrics.broadcasts_tracked.set(len(self.states))

    def _partition_clocks(self, now: float) -> dict[int, float]:
        """Each owned partition's clock (see :mod:`streams.worker.clocks`).

        The fetcher's cached end offsets are good enough to tell "behind" from
        "caught up"; the lag metric comes from the broker (:meth:`_measure_lag`).
        """
        consumer = self.app.consumer
        clocks: dict[int, float] = {}
        since_recovery = time.monotonic() - self._recovered_at
        for tp in self._owned_input_partitions():
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            highwater = consumer.highwater(tp)
            lag = None
            if next_offset is not None and highwater is not None:
                lag = max(0, highwater - next_offset)
            elif next_offset is not None:
                lag = 0
            clocks[tp.partition] = partition_clock(
                now, self.pipeline.stream_times.get(tp.partition), lag, since_recovery
            )
        return clocks

    async def _measure_lag(self) -> None:
        """Lag against end offsets asked of the broker, not the fetcher's last answer.

        A stalled fetcher would otherwise freeze the end offsets it reports and
        hide the traffic that the ingest-stalled alert looks for. The broker round
        trip goes through the consumer's thread and can take a second, so it has
        its own timer rather than delaying the resolve timer.
        """
        owned = self._owned_input_partitions()
        for gone in self._lag_partitions - {tp.partition for tp in owned}:
            self.metrics.forget_partition(gone)
        self._lag_partitions = {tp.partition for tp in owned}
        if not owned:
            return
        try:
            end_offsets = await asyncio.wait_for(self.app.consumer.highwaters(*owned), 5.0)
        except Exception as error:  # a slow broker must not stop the resolve timer
            log.warning("end_offsets_unavailable", error=type(error).__name__)
            return
        for tp, end_offset in end_offsets.items():
            partition = str(tp.partition)
            self.metrics.input_end_offset.labels(partition).set(end_offset)
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            if next_offset is None:
                next_offset = self._committed_offset(tp)
            self.metrics.consumer_lag.labels(partition).set(max(0, end_offset - next_offset))

    def _committed_offset(self, tp: Any) -> int:
        """Where reading resumes on a partition not yet read in this process.

        Faust keeps the committed offsets only in a private mapping; before the
        first commit of a new group the position is the start of the log (0 for a
        topic whose retention has not yet deleted anything).
        """
        committed: dict[Any, int | None] = getattr(self.app.consumer, "_committed_offset", {})
        return committed.get(tp) or 0

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
            self.engine.watchlist = changed
            log.info("watchlist_reloaded", broadcasters=len(changed))

    async def _on_recovered(self) -> None:
        """Rebuild the working set, and show the lag at once: a worker restarting behind a
        backlog may work it off before the lag timer's first run."""
        owned = {tp.partition for tp in self._owned_input_partitions()}
        self.states.reload(owned)
        if self.shadow is not None:
            self.shadow.states.reload(owned)
        self._recovered_at = time.monotonic()
        for state in self.states:
            if state.watermark is not None:
                partition = self.states.partition(state.broadcast_id)
                self.pipeline.stream_times[partition] = max(
                    state.watermark, self.pipeline.stream_times.get(partition, state.watermark)
                )
        log.info("state_recovered", broadcasts=len(self.states))
        self._first_lag_probe = asyncio.ensure_future(self._measure_lag())

    async def _announce_start(self) -> None:
        self.metrics.up.set(1)
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
        return {
            "status": "ok",
            "policy_version": self.policy.policy_version,
            "broadcasts": len(self.states),
            "partitions": sorted(tp.partition for tp in self._owned_input_partitions()),
        }


def _input_message(message: Message) -> InputMessage:
    return InputMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
    )


def create(settings: Settings | None = None) -> Spikewatch:
    settings = settings if settings is not None else Settings()
    return Spikewatch(settings, load_policy(settings.policy_file))


spikewatch = create()
app = spikewatch.app
