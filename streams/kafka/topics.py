"""Create the topics the worker reads and writes, and check the input's partitioning.

Faust creates only its internal topics (the changelog); the input, dead-letter
and on-call topics are created here before the worker starts, so a broker with
``auto.create.topics.enable=false`` (the production norm) works out of the box.

The input topic must have exactly ``SPIKEWATCH_TOPIC_PARTITIONS`` partitions:
a broadcast's window state lives in the changelog partition with the same
number as its input partition, so a mismatch would split a broadcast's state.
The acknowledgement topic is held to the same count for the same reason: an
incident's acknowledgements must land on the partition number of its escalations.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alerting.policy import Policy
from models.errors import SpikewatchError
from streams.kafka.security import client_options
from streams.settings import Settings


class TopicLayoutError(SpikewatchError):
    """The cluster's topics cannot be used as configured; the message says what to do."""


def output_topics(settings: Settings, policy: Policy) -> list[str]:
    shadow = [settings.shadow_topic] if settings.shadow_policy_file is not None else []
    return [
        settings.resolved_dead_letter_topic,
        *sorted(settings.oncall_topic(team) for team in policy.teams),
        settings.resolved_ack_dead_letter_topic,
        *shadow,
    ]


async def create_missing_topics(
    admin: AIOKafkaAdminClient, settings: Settings, wanted: list[str]
) -> list[str]:
    """Create those of ``wanted`` that do not exist, with the configured layout; their names."""
    existing = set(await admin.list_topics())
    missing = [name for name in wanted if name not in existing]
    if missing:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.topic_replication_factor,
                )
                for name in missing
            ]
        )
    return missing


async def ensure_topics(settings: Settings, policy: Policy) -> list[str]:
    """Create missing topics; return the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **client_options(settings)
    )
    await admin.start()
    try:
        keyed_inputs = [settings.input_topic, settings.ack_topic]
        wanted = [*keyed_inputs, *output_topics(settings, policy)]
        missing = await create_missing_topics(admin, settings, wanted)
        for described in await admin.describe_topics(keyed_inputs):
            partitions = len(described["partitions"])
            if partitions and partitions != settings.topic_partitions:
                raise TopicLayoutError(
                    f"topic {described['topic']} has {partitions} partitions but "
                    f"SPIKEWATCH_TOPIC_PARTITIONS={settings.topic_partitions}; "
                    f"set it to {partitions} or recreate the topic with that many"
                )
        return missing
    finally:
        await admin.close()
