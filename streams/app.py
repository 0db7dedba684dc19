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
  acknowledged: never held back until commit, never lost if the worker dies;
* a batch's states are written to the table only after its escalations are
  acknowledged, and the batch loop and the resolve timer take turns (one lock),
  so the changelog never holds a decision whose escalation was not yet sent.
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
from alerting.policy import Policy, load_policy
from alerting.state import BroadcastState
from models.escalation import Escalation
from streams.broadcasts import BroadcastStates
from streams.clocks import partition_clock
from streams.logs import get_logger, logging_config
from streams.metrics import WorkerMetrics
from streams.pipeline import BatchOutput, InputMessage, ReportPipeline
from streams.security import faust_credentials
from streams.settings import Settings

log = get_logger("spikewatch.app")


class Spikewatch:
    """Wires settings, policy, metrics and the core into one Faust app."""

    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self.metrics = WorkerMetrics(policy.teams)
        self.metrics.policy.info({"policy_version": policy.policy_version})
        self.engine = DetectionEngine(policy)
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
            broker_credentials=faust_credentials(settings),
            broker_session_timeout=settings.kafka_session_timeout_seconds,
            table_standby_replicas=settings.table_standby_replicas,
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
        self.table = self.app.Table(
            "broadcast-state",
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            use_partitioner=True,
        )
        self.states = BroadcastStates(self.table, self._partition_of)
        self._state_turn = asyncio.Lock()
        self._recovered_at = time.monotonic()
        self.pipeline = ReportPipeline(
            self.engine,
            self.states,
            self.metrics,
            max_message_bytes=settings.max_message_bytes,
            max_future_skew_seconds=settings.max_future_skew_seconds,
        )
        self._register()

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
        async with self._state_turn:
            output = self.pipeline.process(_input_message(event) for event in events)
            await self._send(output)
            self.states.save(output.states)
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
        if pending:
            await asyncio.gather(*pending)

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
        async with self._state_turn:
            await self._resolve_and_evict(self._partition_clocks(time.time()))
        self.metrics.last_progress.set(time.time())

    async def _resolve_and_evict(self, clocks: dict[int, float]) -> None:
        resolved: list[Escalation] = []
        changed: list[BroadcastState] = []
        idle: list[str] = []
        open_incidents = 0
        self.states.retain(set(clocks))
        for state in self.states:
            result = self.engine.tick(state, clocks[self.states.partition(state.broadcast_id)])
            resolved.extend(result.escalations)
            if result.evictable:
                idle.append(state.broadcast_id)
            else:
                open_incidents += len(state.incidents)
            if result.escalations:
                changed.append(state)
        for escalation in resolved:
            log.info(
                "incident_resolved",
                broadcast_id=escalation.labels.broadcast_id,
                dedup_key=escalation.dedup_key,
            )
        if resolved:
            await asyncio.gather(*await self._send_escalations(resolved))
        self.states.save(changed)
        for broadcast_id in idle:
            self.states.evict(broadcast_id)
        self.metrics.open_incidents.set(open_incidents)
        self.metrics.broadcasts_tracked.set(len(self.states))

    def _partition_clocks(self, now: float) -> dict[int, float]:
        """Each owned partition's clock (see :mod:`streams.clocks`); publishes the lag."""
        consumer = self.app.consumer
        clocks: dict[int, float] = {}
        since_recovery = time.monotonic() - self._recovered_at
        for tp in self._owned_input_partitions():
            next_offset = self.pipeline.next_offsets.get(tp.partition)
            highwater = consumer.highwater(tp)
            lag = None
            if next_offset is not None and highwater is not None:
                lag = max(0, highwater - next_offset)
                self.metrics.consumer_lag.labels(str(tp.partition)).set(lag)
            elif next_offset is not None:
                lag = 0
            clocks[tp.partition] = partition_clock(
                now, self.pipeline.stream_times.get(tp.partition), lag, since_recovery
            )
        return clocks

    def _owned_input_partitions(self) -> list[Any]:
        return [
            tp
            for tp in self.app.assignor.assigned_actives()
            if tp.topic == self.settings.input_topic
        ]

    def _partition_of(self, key: bytes) -> int:
        """The input partition of a broadcast key: aiokafka's default partitioner."""
        return int(murmur2(key) & 0x7FFFFFFF) % self.settings.topic_partitions

    async def _on_recovered(self) -> None:
        self.states.reload({tp.partition for tp in self._owned_input_partitions()})
        self._recovered_at = time.monotonic()
        for state in self.states:
            if state.watermark is not None:
                partition = self.states.partition(state.broadcast_id)
                self.pipeline.stream_times[partition] = max(
                    state.watermark, self.pipeline.stream_times.get(partition, state.watermark)
                )
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
