"""server.properties: the single-node settings, the ``+`` appends and Java's escaping."""

from __future__ import annotations

from pathlib import Path

import pytest

from localkafka import BrokerError
from localkafka.properties import (
    parse_config_pairs,
    read_properties,
    single_node_properties,
    write_properties,
    written_here,
)


def props(**overrides: str) -> dict[str, str]:
    return single_node_properties(
        host="127.0.0.1",
        port=9100,
        controller_port=9101,
        data_dir=Path("/d"),
        partitions=3,
        overrides=overrides,
    )


def test_one_node_is_broker_and_controller_on_loopback_with_replication_one() -> None:
    default = props()
    assert default["process.roles"] == "broker,controller"
    assert default["listeners"] == "PLAINTEXT://127.0.0.1:9100,CONTROLLER://127.0.0.1:9101"
    assert default["controller.quorum.bootstrap.servers"] == "127.0.0.1:9101"
    assert default["log.dirs"] == "/d/data"
    assert default["num.partitions"] == "3"
    factors = [v for k, v in default.items() if k.endswith(("replication.factor", "min.isr"))]
    assert factors
    assert set(factors) == {"1"}


def test_a_plus_key_appends_to_the_list_and_a_plain_key_replaces() -> None:
    changed = props(**{"listeners+": "SASL_SSL://127.0.0.1:9102", "num.partitions": "8"})
    assert changed["listeners"] == (
        "PLAINTEXT://127.0.0.1:9100,CONTROLLER://127.0.0.1:9101,SASL_SSL://127.0.0.1:9102"
    )
    assert changed["num.partitions"] == "8"
    assert props(**{"new.list+": "a"})["new.list"] == "a"


def test_a_static_quorum_replaces_the_dynamic_one() -> None:
    static = props(**{"controller.quorum.voters": "1@127.0.0.1:9101"})
    assert "controller.quorum.bootstrap.servers" not in static


def test_keys_and_values_are_written_with_java_escaping(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    write_properties(
        path,
        {
            "plain": "value",
            "a:b=c": "x",
            "jaas": " leading space\nand a newline\\",
        },
    )
    lines = path.read_text().splitlines()
    assert lines[1:] == ["plain=value", r"a\:b\=c=x", r"jaas=\ leading space\nand a newline\\"]
    assert written_here(path)
    assert read_properties(path)["plain"] == "value"
    assert not path.with_suffix(".tmp").exists()


def test_a_file_from_elsewhere_is_not_ours(tmp_path: Path) -> None:
    foreign = tmp_path / "server.properties"
    foreign.write_text("node.id=1\n")
    assert not written_here(foreign)
    assert not written_here(tmp_path / "missing.properties")
    assert read_properties(tmp_path / "missing.properties") == {}


def test_config_pairs_split_at_the_first_equals_sign() -> None:
    pairs = ["a=b=c", "listeners+=SSL://x:1", " spaced =v"]
    assert parse_config_pairs(pairs) == {"a": "b=c", "listeners+": "SSL://x:1", "spaced": "v"}
    with pytest.raises(BrokerError, match=r"is not KEY=VALUE; e\.g\. --config num\.partitions=8"):
        parse_config_pairs(["=value"])
