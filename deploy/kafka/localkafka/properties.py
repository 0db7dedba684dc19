"""``server.properties``: what a single-node broker on loopback needs, in Java's file format."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from localkafka.errors import BrokerError

PROPERTIES_NAME = "server.properties"
# ``wipe`` deletes only a data dir whose properties start with this line, so it
# must stay the same across releases or old dirs become undeletable.
PROPERTIES_HEADER = "# written by deploy/kafka/local_broker.py; rewritten on every start"


def single_node_properties(
    *,
    host: str,
    port: int,
    controller_port: int,
    data_dir: Path,
    partitions: int,
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """Every replication factor 1, or internal topics (consumer offsets, transactions)
    could never be created.

    ``overrides`` replace entries, and a key ending in ``+`` appends to a comma
    list, so a caller can add e.g. a SASL_SSL listener without restating the
    PLAINTEXT one.
    """
    h, p, c = host, port, controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{h}:{c}",
        "listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
        "advertised.listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": (
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
            "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "log.dirs": str(data_dir / "data"),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "true",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "2",
    }
    for key, value in overrides.items():
        if key.endswith("+"):
            base = key[:-1].strip()
            props[base] = f"{props[base]},{value}" if props.get(base) else value
        else:
            props[key] = value
    if "controller.quorum.voters" in props:  # static quorum: the two are exclusive
        props.pop("controller.quorum.bootstrap.servers", None)
    return props


def _escape_key(key: str) -> str:
    return re.sub(r"([\\=: #!])", r"\\\1", key)


def _escape_value(value: str) -> str:
    """Java .properties escaping, so JAAS configs and paths survive verbatim."""
    value = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + value if value.startswith(" ") else value


def write_properties(path: Path, props: Mapping[str, str]) -> None:
    """Replace the file in one rename, so a broker never reads half of it."""
    lines = [PROPERTIES_HEADER]
    lines += [f"{_escape_key(k)}={_escape_value(v)}" for k, v in props.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def written_here(path: Path) -> bool:
    """True for a properties file this package wrote."""
    return path.is_file() and path.read_text().startswith(PROPERTIES_HEADER)


def read_properties(path: Path) -> dict[str, str]:
    """Good enough for files this package wrote (one key=value per line)."""
    props: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return props
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")) or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        props[key.strip()] = value.strip()
    return props


def parse_config_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` replaces, ``KEY+=VALUE`` appends with a comma (for listeners)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BrokerError(f"--config {pair!r} is not KEY=VALUE; e.g. --config num.partitions=8")
        out[key.strip()] = value
    return out
