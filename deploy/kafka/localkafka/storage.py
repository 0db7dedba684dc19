"""Formatting a data dir for KRaft: once, so a restart finds its metadata log and topics."""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from localkafka.errors import BrokerError
from localkafka.jvm import java_complaint, logging_args
from localkafka.properties import read_properties


def new_cluster_id() -> str:
    """Same shape as ``kafka-storage random-uuid``: base64url of 16 random bytes, no
    padding, never starting with '-' (it would be parsed as a CLI flag)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def ensure_formatted(
    java: str,
    lib: Path,
    props: Mapping[str, str],
    *,
    properties_path: Path,
    log_dir: Path,
    scram: Sequence[str],
) -> str:
    """Return the cluster id, formatting only the log dirs that have none yet.

    ``scram`` credentials can only be stored by the format, so they reach a dir
    the first time it is formatted and never later.
    """
    log_dirs = props.get("log.dirs") or props.get("log.dir", "")
    dirs = [Path(d.strip()) for d in log_dirs.split(",") if d.strip()]
    if props.get("metadata.log.dir"):
        dirs.append(Path(props["metadata.log.dir"]))
    known = [read_properties(d / "meta.properties").get("cluster.id") for d in dirs]
    existing = [cid for cid in known if cid]
    if len(existing) == len(dirs):
        return existing[0]
    cluster_id = existing[0] if existing else new_cluster_id()
    cmd = [
        java, *logging_args(log_dir), "-cp", f"{lib}/*",
        "kafka.tools.StorageTool", "format",
        "-t", cluster_id, "-c", str(properties_path),
    ]  # fmt: skip
    if "controller.quorum.voters" not in props:
        cmd.append("--standalone")
    if existing:  # a log dir was added later: format just the new one
        cmd.append("--ignore-formatted")
    for spec in scram:
        cmd += ["--add-scram", spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise BrokerError(
            f"formatting {properties_path.parent} failed:"
            f" {java_complaint(proc.stdout + proc.stderr)};"
            " fix the --config values, or `wipe` the dir if it is from another setup"
        )
    return cluster_id
