"""A real single-node Apache Kafka broker (KRaft) on 127.0.0.1, without Docker.

Why: the integration tests and local development need the genuine broker (its
protocol quirks, group coordinator and auto-creation behaviour are what we test
against), but neither CI runners nor laptops can be assumed to have Docker.
Java 17 and Maven are enough: Maven resolves the broker jars from Maven Central
once into a cache, then a data dir is formatted and ``kafka.Kafka`` runs.

Standard library only, so ``deploy/kafka/local_broker.py`` runs it before the
project's virtualenv exists; installed, it is the ``localkafka`` package::

    with LocalBroker.on_free_ports(tmp_path / "kafka") as broker:
        ...  # broker.bootstrap == "127.0.0.1:<port>"

One job per module: ``maven`` (the jars), ``jvm`` (Java, heap, logging),
``storage`` (formatting a data dir), ``properties`` (server.properties),
``protocol`` (the Metadata probe that tells a ready broker), ``process``
(pid files and signals), ``ports``, ``broker`` (``LocalBroker``) and ``cli``.
"""

from __future__ import annotations

from localkafka.broker import LocalBroker
from localkafka.errors import BrokerError
from localkafka.maven import cache_root, fetch
from localkafka.ports import free_port, free_ports
from localkafka.process import running_pid, stop_broker
from localkafka.protocol import (
    BrokerNode,
    ClusterMetadata,
    KafkaProtocolError,
    metadata_request,
    wait_for_metadata,
)
from localkafka.version import KAFKA_VERSION

__all__ = [
    "KAFKA_VERSION",
    "BrokerError",
    "BrokerNode",
    "ClusterMetadata",
    "KafkaProtocolError",
    "LocalBroker",
    "cache_root",
    "fetch",
    "free_port",
    "free_ports",
    "metadata_request",
    "running_pid",
    "stop_broker",
    "wait_for_metadata",
]
