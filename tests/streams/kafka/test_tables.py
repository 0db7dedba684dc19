"""Changelog partitions computed from the key agree with Kafka's default partitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from alerting.state_records import bucket_key
from streams.kafka.tables import key_partition, record_partition


@given(key=st.binary(min_size=1, max_size=200), partitions=st.integers(min_value=1, max_value=64))
def test_key_partition_is_the_producers_partition(key: bytes, partitions: int) -> None:
    everything = list(range(partitions))
    assert key_partition(key, partitions) == DefaultPartitioner()(key, everything, everything)


@given(
    broadcast_id=st.text(min_size=1, max_size=128),
    bucket=st.integers(min_value=0, max_value=2**40),
    partitions=st.integers(min_value=1, max_value=64),
)
def test_a_bucket_record_goes_to_its_broadcasts_partition(
    broadcast_id: str, bucket: int, partitions: int
) -> None:
    key = broadcast_id.encode()
    assert record_partition(bucket_key(key, "harassment", bucket), partitions) == key_partition(
        key, partitions
    )
    assert record_partition(key, partitions) == key_partition(key, partitions)
