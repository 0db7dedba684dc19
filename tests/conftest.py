"""Shared fixtures: the real local Kafka broker, started once per test session.

The broker is the project's own ``localkafka`` (``deploy/kafka``) on free
loopback ports, in a temporary directory, and is stopped when the session ends.
Tests that need Kafka never skip: a missing Java or Maven fails them loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerting.policy import Policy, load_policy
from localkafka import LocalBroker


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The checked-in default policy."""
    return load_policy()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = LocalBroker.on_free_ports(
        Path(tmp_path_factory.mktemp("kafka")), heap="768m", timeout=120.0
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def bootstrap(kafka: LocalBroker) -> str:
    return kafka.bootstrap
