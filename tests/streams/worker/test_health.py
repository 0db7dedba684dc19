"""Tests for streams/worker/health.py: the liveness verdict behind /healthz."""

from __future__ import annotations

from streams.worker.health import Liveness


def test_a_fresh_worker_is_alive() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    assert liveness.problem(1.0, waiting=0, recovering=False) is None


def test_no_progress_without_lag_is_idle_not_stalled() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    assert liveness.problem(10_000.0, waiting=0, recovering=False) is None


def test_no_progress_while_input_waits_is_a_stall() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    assert liveness.problem(60.0, waiting=5, recovering=False) is None
    problem = liveness.problem(61.0, waiting=5, recovering=False)
    assert problem is not None
    assert problem.startswith("stalled")
    assert "5 reports" in problem


def test_a_long_recovery_is_not_a_stall() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    assert liveness.problem(600.0, waiting=5, recovering=True) is None


def test_progress_clears_a_stall() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    liveness.progressed(100.0)
    assert liveness.problem(120.0, waiting=5, recovering=False) is None


def test_a_fatal_error_is_final_and_the_first_one_is_named() -> None:
    liveness = Liveness(stall_seconds=60, last_progress=0.0)
    liveness.failed("state_write_failed")
    liveness.failed("report_batch_failed")
    liveness.progressed(1.0)
    assert liveness.problem(1.0, waiting=0, recovering=False) == "fatal: state_write_failed"
