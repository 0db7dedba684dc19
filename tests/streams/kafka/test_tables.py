"""Changelog partitions computed from the key agree with Kafka's default partitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from streams.kafka.tables import key_partition


@given(key=st.binary(min_size=1, max_size=200), partitions=st.integers(min_value=1, max_value=64))
def test_key_partition_is_the_producers_partition(key: bytes, partitions: int) -> None:
    everything = list(range(partitions))
    assert key_partition(key, partitions) == DefaultPartitioner()(key, everything, everything)
