"""Tests for tests/support/notify.py's incidents: what the delivery tests send must be a
faithful stand-in for the worker's."""

from __future__ import annotations

from tests.support.notify import incident


def test_incidents_built_at_once_on_one_broadcast_and_team_have_distinct_keys() -> None:
    """The key names the incident's start in milliseconds; a loop builds several within
    one, and two incidents sharing a key would be one incident to every sink."""
    keys = [incident("b-1", "t")[0].dedup_key for _ in range(50)]

    assert len(set(keys)) == len(keys)
    starts = [int(key.rsplit(":", 1)[1]) for key in keys]
    assert starts == sorted(starts)


def test_an_incidents_events_share_its_key_and_count_up() -> None:
    events = incident("b-2", "t", updates=2)

    assert {event.dedup_key for event in events} == {events[0].dedup_key}
    assert [event.sequence for event in events] == [1, 2, 3, 4]
