"""Create the topics the worker reads and writes, and check the input's partitioning.

Faust creates only its internal topics (the changelog); the input, dead-letter
and on-call topics are created here before the worker starts, so a broker with
``auto.create.topics.enable=false`` (the production norm) works out of the box.

Every topic the worker writes is described once here, and what its records may
weigh (``max.message.bytes``) is handed to the writers, which size their records
to fit (see :mod:`models.bounds`). The state changelogs are created here too,
compacted and accepting the largest state the policy allows; an existing
changelog that accepts less stops the start with the command that fixes it,
since a state the broker refused later would stop the worker mid-stream.

The input topic must have exactly ``SPIKEWATCH_TOPIC_PARTITIONS`` partitions:
a broadcast's window state lives in the changelog partition with the same
number as its input partition, so a mismatch would split a broadcast's state.
The acknowledgement topic is held to the same count for the same reason: an
incident's acknowledgements must land on the partition number of its escalations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from alerting.limits import MAX_STATE_RECORD_BYTES, largest_state_bytes
from alerting.policy import Policy
from models.bounds import DEFAULT_BROKER_MAX_MESSAGE_BYTES
from models.errors import SpikewatchError
from streams.kafka.security import client_options
from streams.logs import get_logger
from streams.settings import Settings

log = get_logger("spikewatch.topics")

STATE_TABLE = "broadcast-state"
SHADOW_STATE_TABLE = "broadcast-state-shadow"
TIMELINE_TABLE = "incident-timelines"
STATE_TOPIC_CONFIG = {"cleanup.policy": "compact", "max.message.bytes": str(MAX_STATE_RECORD_BYTES)}
"""How the state changelogs are created (by us, or by Faust under ``faust -A``)."""


class TopicLayoutError(SpikewatchError):
    """The cluster's topics cannot be used as configured; the message says what to do."""


@dataclass(frozen=True, slots=True)
class TopicLayout:
    """What :func:`ensure_topics` did and found: the topics created, and each written
    topic's ``max.message.bytes``."""

    created: list[str] = field(default_factory=list)
    max_message_bytes: dict[str, int] = field(default_factory=dict)

    def limit(self, topic: str) -> int:
        """A topic's record limit; Kafka's default for one not described (yet)."""
        return self.max_message_bytes.get(topic, DEFAULT_BROKER_MAX_MESSAGE_BYTES)


def changelog_topic(settings: Settings, table: str) -> str:
    """The name Faust gives a table's changelog."""
    return f"{settings.app_id}-{table}-changelog"


def state_topics(settings: Settings) -> list[str]:
    tables = [STATE_TABLE, TIMELINE_TABLE]
    if settings.shadow_policy_file is not None:
        tables.append(SHADOW_STATE_TABLE)
    return [changelog_topic(settings, table) for table in tables]


def output_topics(settings: Settings, policy: Policy) -> list[str]:
    shadow = [settings.shadow_topic] if settings.shadow_policy_file is not None else []
    return [
        settings.resolved_dead_letter_topic,
        *sorted(settings.oncall_topic(team) for team in policy.teams),
        settings.resolved_ack_dead_letter_topic,
        settings.escalation_dead_letter_topic,
        *shadow,
    ]


async def create_missing_topics(
    admin: AIOKafkaAdminClient, settings: Settings, wanted: list[str]
) -> list[str]:
    """Create those of ``wanted`` that do not exist, with the configured layout; their names."""
    existing = set(await admin.list_topics())
    missing = [name for name in wanted if name not in existing]
    if missing:
        await admin.create_topics([_new_topic(settings, name) for name in missing])
    return missing


async def ensure_topics(settings: Settings, policy: Policy) -> TopicLayout:
    """Create missing topics, check the layout, and learn each written topic's record limit."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **client_options(settings)
    )
    try:
        await admin.start()
        keyed_inputs = [settings.input_topic, settings.ack_topic]
        plain = [*keyed_inputs, *output_topics(settings, policy)]
        existing = set(await admin.list_topics())
        missing = [name for name in plain if name not in existing]
        missing_states = [name for name in state_topics(settings) if name not in existing]
        if missing or missing_states:
            await admin.create_topics(
                [_new_topic(settings, name) for name in missing]
                + [_new_topic(settings, name, STATE_TOPIC_CONFIG) for name in missing_states]
            )
        for described in await admin.describe_topics(keyed_inputs):
            partitions = len(described["partitions"])
            if partitions and partitions != settings.topic_partitions:
                raise TopicLayoutError(
                    f"topic {described['topic']} has {partitions} partitions but "
                    f"SPIKEWATCH_TOPIC_PARTITIONS={settings.topic_partitions}; "
                    f"set it to {partitions} or recreate the topic with that many"
                )
        written = [settings.input_topic, *output_topics(settings, policy), *state_topics(settings)]
        layout = TopicLayout([*missing, *missing_states], await _max_message_bytes(admin, written))
        _check_states_fit(settings, policy, layout)
        return layout
    finally:
        await admin.close()


def _new_topic(settings: Settings, name: str, config: dict[str, str] | None = None) -> NewTopic:
    return NewTopic(
        name,
        num_partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        topic_configs=config or {},
    )


async def _max_message_bytes(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, int]:
    """Each topic's effective ``max.message.bytes`` (its own, or the broker's default); a topic
    the broker would not describe (no DescribeConfigs permission) is left out."""
    responses = await admin.describe_configs(
        [
            ConfigResource(ConfigResourceType.TOPIC, name, {"max.message.bytes": None})
            for name in topics
        ]
    )
    limits: dict[str, int] = {}
    for response in responses:
        for _error, _message, _kind, name, entries, *_ in response.resources:
            for entry in entries:
                if entry[0] == "max.message.bytes" and entry[1] is not None:
                    limits[name] = int(entry[1])
    return limits


def _check_states_fit(settings: Settings, policy: Policy, layout: TopicLayout) -> None:
    window = policy.window
    largest = largest_state_bytes(
        window.max_reporters_per_category, window.length_seconds, window.bucket_seconds
    )
    for topic in state_topics(settings):
        limit = layout.max_message_bytes.get(topic)
        if limit is None:
            log.warning("topic_limit_unknown", topic=topic, action="grant DescribeConfigs on it")
        elif limit < largest:
            raise TopicLayoutError(
                f"topic {topic} accepts records of {limit} bytes, but the policy's largest "
                f"broadcast state takes {largest}; raise it with kafka-configs.sh --alter "
                f"--entity-type topics --entity-name {topic} "
                f"--add-config max.message.bytes={MAX_STATE_RECORD_BYTES}"
            )
