"""Create the topics the worker reads and writes, and check the input's partitioning.

Faust creates only its internal topics (the changelog); the input, dead-letter
and on-call topics are created here before the worker starts, so a broker with
``auto.create.topics.enable=false`` (the production norm) works out of the box.

The input topic must have exactly ``SPIKEWATCH_TOPIC_PARTITIONS`` partitions:
a broadcast's window state lives in the changelog partition with the same
number as its input partition, so a mismatch would split a broadcast's state.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alerting.policy import Policy
from streams.security import client_options
from streams.settings import Settings


class TopicLayoutError(RuntimeError):
    """The cluster's topics cannot be used as configured; the message says what to do."""


def output_topics(settings: Settings, policy: Policy) -> list[str]:
    return [
        settings.resolved_dead_letter_topic,
        *sorted(settings.oncall_topic(team) for team in policy.teams),
    ]


async def ensure_topics(settings: Settings, policy: Policy) -> list[str]:
    """Create missing topics; return the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **client_options(settings)
    )
    await admin.start()
    try:
        wanted = [settings.input_topic, *output_topics(settings, policy)]
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
        described = await admin.describe_topics([settings.input_topic])
        partitions = len(described[0]["partitions"]) if described else 0
        if partitions and partitions != settings.topic_partitions:
            raise TopicLayoutError(
                f"topic {settings.input_topic} has {partitions} partitions but "
                f"SPIKEWATCH_TOPIC_PARTITIONS={settings.topic_partitions}; set it to {partitions}"
            )
        return missing
    finally:
        await admin.close()
