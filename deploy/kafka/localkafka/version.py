"""The Apache Kafka release this package runs; ``pom.xml`` must name the same one."""

from __future__ import annotations

KAFKA_VERSION = "4.1.1"
