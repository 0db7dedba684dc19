"""Formatting happens once: a data dir that has its cluster id is never formatted again."""

from __future__ import annotations

import base64
import string
from pathlib import Path

from localkafka.storage import ensure_formatted, new_cluster_id


def test_cluster_ids_look_like_kafkas_and_never_start_like_a_flag() -> None:
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for _ in range(200):
        cid = new_cluster_id()
        assert len(cid) == 22
        assert set(cid) <= alphabet
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_a_formatted_dir_keeps_its_id_without_running_java(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.properties").write_text("version=1\ncluster.id=abcDEF123\nnode.id=1\n")
    cluster_id = ensure_formatted(
        str(tmp_path / "no-such-java"),  # would raise if it were run
        tmp_path / "lib",
        {"log.dirs": str(data)},
        properties_path=tmp_path / "server.properties",
        log_dir=tmp_path / "logs",
        scram=[],
    )
    assert cluster_id == "abcDEF123"
