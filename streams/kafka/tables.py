"""Faust tables whose changelog partition is computed from the key alone.

Our tables are written outside a single event's context: once per broadcast per
batch, and from timers. Faust offers ``use_partitioner=True`` for that, but it
asks the producer's partitioner, which needs the changelog topic in the
producer's metadata and crashed the agent with ``TypeError: 'NoneType' object is
not iterable`` when it was not there (seen on a fresh worker whose first batch
followed a send to another topic). Computing the partition ourselves with the
same murmur2 hash that keyed producers use removes the dependency: a key's
changelog partition is the partition number its input topic uses for that key.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast

import faust
from aiokafka.partitioner import murmur2
from faust.types import TableT

from alerting.state_records import owner_key


@functools.lru_cache(maxsize=1 << 18)
def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as in Java).

    Remembered per key: aiokafka's murmur2 is pure Python, and every changelog
    write and every new broadcast asks again for the same few thousand keys.
    """
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def record_partition(key: bytes, partitions: int) -> int:
    """The changelog partition of a table record: its broadcast's, for each of the records
    a large state is stored in (:func:`alerting.state_records.owner_key`)."""
    return key_partition(owner_key(key), partitions)


class KeyPartitionedTable(faust.Table[bytes, bytes]):
    """A bytes-to-bytes table; writes go to ``record_partition(key)`` of the changelog.

    Always built with an explicit partition count (:func:`bytes_table`), the same
    as the topics its keys come from.
    """

    def partition_for_key(self, key: Any) -> int:
        return record_partition(cast(bytes, key), cast(int, self.partitions))


def bytes_table(
    app: faust.App, name: str, partitions: int, topic_config: Mapping[str, str] | None = None
) -> TableT[bytes, bytes]:
    """``topic_config`` is what Faust creates the changelog with when it creates it."""
    table = KeyPartitionedTable(
        app,
        name=name,
        default=None,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        beacon=app.tables.beacon,
        extra_topic_configs=topic_config,
    )
    return cast(TableT[bytes, bytes], app.tables.add(table))
