"""Two workers in one group: they share the partitions, one takes over when the
other is killed (with its window state), and the load spreads again when it comes back."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from models.escalation import EventAction
from tests.support.faults import (
    TriggerCensus,
    accepted,
    broadcasts_on,
    read_escalations,
    record_figures,
    triggered,
    wait_for,
)
from tests.support.kafka import send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess
from tests.support.reports import ORDINARY_VIEWER, keyed, report

pytestmark = pytest.mark.kafka

ALL_PARTITIONS = [0, 1, 2, 3]


def partitions(worker: WorkerProcess) -> set[int]:
    health = worker.health() or {}
    owned = health.get("partitions", [])
    assert isinstance(owned, list)
    return set(owned)


def tracked(worker: WorkerProcess) -> int:
    broadcasts = (worker.health() or {}).get("broadcasts", -1)
    assert isinstance(broadcasts, int)
    return broadcasts


def shared_fairly(a: WorkerProcess, b: WorkerProcess) -> bool:
    mine, theirs = partitions(a), partitions(b)
    return (
        bool(mine) and bool(theirs) and not mine & theirs and mine | theirs == set(ALL_PARTITIONS)
    )


def test_failover_keeps_window_state_and_load_spreads_again(bootstrap: str, tmp_path: Path) -> None:
    env = {"SPIKEWATCH_KAFKA_SESSION_TIMEOUT_SECONDS": "10"}
    first_config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path / "a", extra_env=env)
    second_config = WorkerConfig(
        bootstrap=bootstrap, run_dir=tmp_path / "b", name=first_config.name, extra_env=env
    )
    survivor = WorkerProcess(first_config).start()
    victim = WorkerProcess(second_config).start()
    returned: WorkerProcess | None = None
    try:
        wait_for(lambda: shared_fairly(survivor, victim), 90, "both workers to own partitions")
        before = (sorted(partitions(survivor)), sorted(partitions(victim)))
        targets = broadcasts_on(partitions(victim), "failover", 3)
        first_half = [
            report(t, "harassment", viewers=400, reporter=dict(ORDINARY_VIEWER))
            for t in targets
            for _ in range(4)
        ]
        asyncio.run(send_all(bootstrap, first_config.input_topic, [keyed(r) for r in first_half]))
        wait_for(lambda: accepted(victim) >= len(first_half), 60, "the victim to count its half")
        assert accepted(survivor) == 0, "the targets live on the victim's partitions"

        victim.stop(signal.SIGKILL)
        wait_for(lambda: partitions(survivor) == set(ALL_PARTITIONS), 90, "the takeover")
        second_half = [
            report(t, "harassment", viewers=400, reporter=dict(ORDINARY_VIEWER))
            for t in targets
            for _ in range(3)
        ]
        asyncio.run(send_all(bootstrap, first_config.input_topic, [keyed(r) for r in second_half]))
        escalations = read_escalations(first_config, triggered(set(targets)), 60, settle=3.0)

        returned = WorkerProcess(second_config).start()
        wait_for(lambda: shared_fairly(survivor, returned), 90, "the load to spread again")
        after = (sorted(partitions(survivor)), sorted(partitions(returned)))
        wait_for(
            lambda: tracked(survivor) + tracked(returned) == len(targets),
            30,
            "each broadcast's state held by exactly one worker",
        )
    finally:
        for worker in (survivor, victim, returned):
            if worker is not None:
                worker.stop()

    census = TriggerCensus.of(escalations)
    distinct = {
        e.labels.broadcast_id: e.evidence.distinct_reporters
        for e in escalations
        if e.event_action is EventAction.TRIGGER
    }
    record_figures(
        "scale_out",
        {
            "partitions_before_kill": before,
            "partitions_after_return": after,
            "surges_split_across_failover": len(targets),
            "incidents_triggered": len(census.incidents),
            "trigger_records": sum(census.copies.values()),
            "distinct_reporters_at_trigger": distinct,
        },
    )
    assert census.incident_broadcasts() == set(targets)
    assert sum(census.copies.values()) == len(targets), "one trigger per surge"
    assert set(distinct.values()) == {5}, (
        "4 reporters restored from the victim's changelog + the first new one: "
        "the takeover carried the window state"
    )
