"""The jar cache: a complete copy is used as is, an incomplete or outdated one is fetched again."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from localkafka import KAFKA_VERSION, BrokerError, cache_root, fetch
from localkafka.jvm import require_java
from localkafka.maven import COMPLETE_MARKER, POM, REQUIRED_JARS

POM_NAMESPACE = {"m": "http://maven.apache.org/POM/4.0.0"}


@pytest.fixture
def fresh_java_lookup() -> Iterator[None]:
    """``require_java`` remembers its answer; these tests change PATH under it."""
    require_java.cache_clear()
    yield
    require_java.cache_clear()


def fake_copy(lib: Path, marker: str) -> None:
    lib.mkdir(parents=True)
    for jar in REQUIRED_JARS:
        (lib / jar).write_bytes(b"")
    (lib / COMPLETE_MARKER).write_text(marker)


def pom_digest_line() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest() + "\n"


def test_the_cache_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPIKEWATCH_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path / f"kafka-{KAFKA_VERSION}"


def test_a_complete_copy_needs_no_maven(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_java_lookup: None
) -> None:
    fake_copy(tmp_path / "lib", pom_digest_line())
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert fetch(tmp_path) == (tmp_path / "lib", False)


@pytest.mark.parametrize("damage", ["edited pom", "missing jar"])
def test_an_outdated_or_partial_copy_is_fetched_again(
    damage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_java_lookup: None
) -> None:
    lib = tmp_path / "lib"
    fake_copy(lib, "0" * 64 if damage == "edited pom" else pom_digest_line())
    if damage == "missing jar":
        (lib / REQUIRED_JARS[0]).unlink()
    only_java = tmp_path / "only-java"
    only_java.mkdir()
    (only_java / "java").symlink_to(os.path.realpath(shutil.which("java") or "java"))
    monkeypatch.setenv("PATH", str(only_java))
    with pytest.raises(BrokerError, match="mvn not found on PATH") as caught:
        fetch(tmp_path)
    assert caught.value.exit_code == 2


def test_the_pom_fetches_the_release_the_package_runs() -> None:
    versions = ElementTree.parse(POM).getroot().find("m:properties/m:kafka.version", POM_NAMESPACE)
    assert versions is not None
    assert versions.text == KAFKA_VERSION
