"""The per-partition resolve/evict clock: wall time when caught up, stream time behind."""

from __future__ import annotations

from streams.worker.clocks import FIRST_FETCH_GRACE_SECONDS, partition_clock

NOW, STREAM_TIME = 1_800_000_000.0, 1_799_999_000.0


def test_a_caught_up_partition_runs_on_the_wall_clock() -> None:
    assert partition_clock(NOW, STREAM_TIME, lag=0, seconds_since_recovery=60) == NOW


def test_a_partition_with_a_backlog_runs_on_its_newest_event_time() -> None:
    assert partition_clock(NOW, STREAM_TIME, lag=5000, seconds_since_recovery=60) == STREAM_TIME


def test_before_the_first_fetch_restored_state_is_kept_for_a_grace_period() -> None:
    early = partition_clock(NOW, STREAM_TIME, lag=None, seconds_since_recovery=1)
    late = partition_clock(
        NOW, STREAM_TIME, lag=None, seconds_since_recovery=FIRST_FETCH_GRACE_SECONDS + 1
    )
    assert (early, late) == (STREAM_TIME, NOW)


def test_without_any_event_time_the_wall_clock_is_all_there_is() -> None:
    assert partition_clock(NOW, None, lag=5000, seconds_since_recovery=60) == NOW


def test_event_times_ahead_of_the_wall_clock_never_move_it_forward() -> None:
    assert partition_clock(NOW, NOW + 200, lag=5000, seconds_since_recovery=60) == NOW
