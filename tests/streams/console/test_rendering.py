"""How the console's templates write times and links."""

from __future__ import annotations

import pytest

from streams.console.web import duration, web_link


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, ""), (42.7, "42s"), (185, "3m 05s"), (7800, "2h 10m"), (-65, "-1m 05s")],
)
def test_durations_are_short_and_a_missed_sla_is_negative(
    seconds: float | None, shown: str
) -> None:
    assert duration(seconds) == shown


def test_only_web_links_are_followed() -> None:
    assert web_link("https://runbooks.example/x") == "https://runbooks.example/x"
    assert web_link("javascript:alert(1)") == ""
    assert web_link(None) == ""
