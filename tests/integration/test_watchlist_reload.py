"""A running worker picks up a changed high-profile watchlist without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from alerting.policy import DEFAULT_POLICY_PATH
from models.escalation import Escalation, EventAction, Severity
from tests.support.kafka import Record, read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess
from tests.support.reports import keyed, report

pytestmark = pytest.mark.kafka


def policy_with_watchlist(directory: Path) -> tuple[Path, Path]:
    document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    document["high_profile"] = {"team": "high-profile", "watchlist_file": "watchlist.txt"}
    watchlist = directory / "watchlist.txt"
    watchlist.write_text("# no one yet\n", encoding="utf-8")
    policy = directory / "policy.yaml"
    policy.write_text(yaml.safe_dump(document), encoding="utf-8")
    return policy, watchlist


def wait_for_log_event(worker: WorkerProcess, event: str, within: float) -> None:
    """The resolve timer looks at the file's mtime; its log line says it reloaded."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(line.get("event") == event for line in worker.log_lines()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no {event} within {within} s:\n{worker.tail_log(20)}")


def surge(broadcast_id: str) -> list[tuple[bytes, bytes]]:
    return [keyed(report(broadcast_id, "harassment", viewers=600)) for _ in range(15)]


def triggers(records: list[Record]) -> dict[str, tuple[str, Escalation]]:
    found = {}
    for record in records:
        escalation = Escalation.model_validate_json(record.value or b"")
        if escalation.event_action is EventAction.TRIGGER:
            found[escalation.labels.broadcast_id] = (record.topic, escalation)
    return found


def test_watchlist_change_reaches_a_running_worker(bootstrap: str, tmp_path: Path) -> None:
    policy, watchlist = policy_with_watchlist(tmp_path)
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=tmp_path,
        extra_env={"SPIKEWATCH_POLICY_FILE": str(policy)},
    )
    pattern = f"^{config.oncall_prefix.replace('.', '[.]')}.*"
    worker = WorkerProcess(config).start()
    try:
        asyncio.run(send_all(bootstrap, config.input_topic, surge("before-watchlist")))
        first = asyncio.run(
            read_until(
                bootstrap,
                None,
                pattern=pattern,
                done=lambda records: "before-watchlist" in triggers(records),
                within=60,
            )
        )
        watchlist.write_text("owner-after-watchlist\n", encoding="utf-8")
        wait_for_log_event(worker, "watchlist_reloaded", within=30)
        asyncio.run(send_all(bootstrap, config.input_topic, surge("after-watchlist")))
        second = asyncio.run(
            read_until(
                bootstrap,
                None,
                pattern=pattern,
                done=lambda records: "after-watchlist" in triggers(records),
                within=60,
            )
        )
    finally:
        worker.stop()
    topic_before, before = triggers(first)["before-watchlist"]
    topic_after, after = triggers(second)["after-watchlist"]
    assert (topic_before, before.severity) == (
        f"{config.oncall_prefix}hate-harassment",
        Severity.ERROR,
    )
    assert (topic_after, after.severity) == (
        f"{config.oncall_prefix}high-profile",
        Severity.CRITICAL,
    ), worker.tail_log(20)
