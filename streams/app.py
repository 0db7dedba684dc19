"""The Faust application: topics, the broadcast-state table, the agent and timers.

Run it with ``spikewatch worker`` (or ``faust -A streams.app worker``). The module
builds ``app`` from :class:`~streams.settings.Settings` at import, as Faust's
command line expects.

Choices forced by Faust's known pitfalls (see DESIGN.md):

* the agent consumes raw bytes and validates them itself, since a Faust decode
  error acks the message and kills the agent;
* state lives in a plain (not windowed) table, one value per broadcast, with
  windows kept by the core on event time;
* the table uses the producer's partitioner for its changelog
  (``use_partitioner=True``), which lets the batch loop and the resolve timer
  write outside a single event's context; the input is keyed by ``broadcast_id``
  with the same partitioner, so a broadcast's input partition and its changelog
  partition are the same number (reports with a wrong key are re-published with
  the right one first);
* escalations are sent with ``force=True`` and awaited before the batch is
  acknowledged: never held back until commit, never lost if the worker dies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import faust
from aiokafka.partitioner import murmur2
from faust.types import EventT
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import choose_encoder

from alerting.engine import DetectionEngine
from alerting.policy import Policy, PolicyError, load_policy
from models.escalation import Escalation
from streams.broadcasts import BroadcastStates
from streams.logs import get_logger, logging_config
from streams.metrics import WorkerMetrics
from streams.pipeline import BatchOutput, InputMessage, ReportPipeline
from streams.settings import Settings
from streams.shadow import ShadowLane
from streams.watchlist import WatchlistFile

log = get_logger("spikewatch.app")


class Spikewatch:
    """Wires settings, policy, metrics and the core into one Faust app."""

    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self.metrics = WorkerMetrics(policy.teams)
        self.metrics.policy.info({"policy_version": policy.policy_version})
        self.engine = DetectionEngine(policy)
        self.watchlist = WatchlistFile(policy)
        self.app = faust.App(
            settings.app_id,
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
            logging_config=logging_config(settings.log_level),
        )
        self.input_topic = self.app.topic(
            settings.input_topic,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.topic_partitions,
        )
        self.dead_letter_topic = self.app.topic(
            settings.resolved_dead_letter_topic,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.topic_partitions,
        )
        self.oncall_topics = {
            team: self.app.topic(
                settings.oncall_topic(team),
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.topic_partitions,
            )
            for team in sorted(policy.teams)
        }
        self.table = self._state_table("broadcast-state")
        self.states = BroadcastStates(self.table, self._partition_of)
        self.shadow = self._shadow_lane(settings)
        self.pipeline = ReportPipeline(
            self.engine,
            self.states,
            self.metrics,
            max_message_bytes=settings.max_message_bytes,
            max_future_skew_seconds=settings.max_future_skew_seconds,
            shadow=self.shadow,
        )
        self._register()

    def _state_table(self, name: str) -> Any:
        return self.app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=self.settings.topic_partitions,
            use_partitioner=True,
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
        self.shadow_table = self._state_table("broadcast-state-shadow")
        log.info("shadow_policy_loaded", policy_version=shadow_policy.policy_version)
        return ShadowLane(
            DetectionEngine(shadow_policy), BroadcastStates(self.shadow_table, self._partition_of)
        )

    def _register(self) -> None:
        app = self.app
        app.agent(self.input_topic, name="reports")(self._consume_reports)
        app.timer(self.settings.tick_interval_seconds)(self._tick)
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

    async def _consume_reports(self, stream: faust.StreamT[bytes]) -> None:
        batches = cast(faust.Stream[bytes], stream).take_events(
            self.settings.batch_max_messages, within=self.settings.batch_max_wait_seconds
        )
        async for events in batches:
            await self._handle_batch(events)

    async def _handle_batch(self, events: Sequence[EventT[bytes]]) -> None:
        received = time.time()
        await self._await_changelog_metadata()
        output = self.pipeline.process(_input_message(event) for event in events)
        await self._send(output)
        produced = time.time()
        for _ in output.escalations:
            self.metrics.ingest_to_escalation.observe(produced - received)
        if output.newest_event_time is not None:
            self.metrics.event_time_lag.set(max(0.0, produced - output.newest_event_time))
        self.metrics.last_progress.set(produced)

    async def _send(self, output: BatchOutput) -> None:
        pending: list[Awaitable[Any]] = []
        for key, letter in output.dead_letters:
            pending.append(
                await self.dead_letter_topic.send(
                    key=key, value=letter.model_dump_json().encode(), force=True
                )
            )
        for key, value in output.reroutes:
            pending.append(await self.input_topic.send(key=key, value=value, force=True))
        pending.extend(await self._send_escalations(output.escalations))
        pending.extend(await self._send_shadow(output.shadow_escalations))
        if pending:
            await asyncio.gather(*pending)

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
        now = self._resolve_clock(caught_up=self._measure_lag())
        self._reload_watchlist()
        owned = {tp.partition for tp in self._owned_input_partitions()}
        self.states.retain(owned)
        if self.shadow is not None:
            self.shadow.states.retain(owned)
        ticked = self.pipeline.tick(now)
        resolved, open_incidents = ticked.escalations, ticked.open_incidents
        for escalation in resolved:
            log.info(
                "incident_resolved",
                broadcast_id=escalation.labels.broadcast_id,
                dedup_key=escalation.dedup_key,
            )
        pending = await self._send_escalations(resolved)
        pending.extend(await self._send_shadow(ticked.shadow_escalations))
        if pending:
            await asyncio.gather(*pending)
        self.metrics.open_incidents.set(open_incidents)
        self.metrics.broadcasts_tracked.set(len(self.states))
        self.metrics.last_progress.set(time.time())

    def _resolve_clock(self, *, caught_up: bool) -> float:
        """The time quiet periods are measured against.

        Wall-clock time once the worker has read everything there is, so an
        incident resolves even when reports stop altogether; while a backlog is
        being worked off, the newest event time processed, so an incident is not
        resolved merely because its reports are still waiting in the topic.
        """
        stream_time = self.pipeline.stream_time
        if caught_up or stream_time is None:
            return time.time()
        return stream_time

    def _measure_lag(self) -> bool:
        """Publish consumer lag per owned partition; say whether all are caught up."""
        consumer = self.app.consumer
        caught_up = True
        for tp in self._owned_input_partitions():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            if next_offset is None:
                next_offset = self._committed_offset(tp)
            lag = max(0, highwater - next_offset)
            caught_up = caught_up and lag == 0
            self.metrics.consumer_lag.labels(str(tp.partition)).set(lag)
        return caught_up

    def _committed_offset(self, tp: Any) -> int:
        """Where reading resumes on a partition not yet read in this process.

        Faust keeps the committed offsets only in a private mapping; before the
        first commit of a new group the position is the start of the log (0 for a
        topic whose retention has not yet deleted anything).
        """
        committed: dict[Any, int | None] = getattr(self.app.consumer, "_committed_offset", {})
        return committed.get(tp) or 0

    def _owned_input_partitions(self) -> list[Any]:
        return [
            tp
            for tp in self.app.assignor.assigned_actives()
            if tp.topic == self.settings.input_topic
        ]

    def _partition_of(self, key: bytes) -> int:
        """The input partition of a broadcast key: aiokafka's default partitioner."""
        return int(murmur2(key) & 0x7FFFFFFF) % self.settings.topic_partitions

    async def _await_changelog_metadata(self) -> None:
        """Make sure the producer knows the changelog topics before writing the tables.

        A table write hashes its key with the producer's cached metadata and does
        not wait for it; while a freshly created changelog topic has no leader yet
        the cache lacks it, the write raised ``TypeError`` inside the agent, and
        Faust restarted the agent without the batch (seen on a loaded machine on
        a worker's first batch). ``partitions_for`` returns at once from the cache
        when the topic is known, and otherwise waits for the broker.
        """
        producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]
        tables = [self.table, *([self.shadow_table] if self.shadow is not None else [])]
        for table in tables:
            await producer.partitions_for(table.changelog_topic.get_topic_name())

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
        owned = {tp.partition for tp in self._owned_input_partitions()}
        self.states.reload(owned)
        if self.shadow is not None:
            self.shadow.states.reload(owned)
        log.info("state_recovered", broadcasts=len(self.states))

    async def _announce_start(self) -> None:
        self.metrics.up.set(1)
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


def _input_message(event: EventT[bytes]) -> InputMessage:
    message = event.message
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
