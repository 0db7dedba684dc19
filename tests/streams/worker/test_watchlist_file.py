"""Reading the watchlist file the policy names (streams/worker/watchlist_file.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerting.policy import PolicyError, load_policy
from streams.worker.watchlist_file import WatchlistFile, policy_watchlist
from tests.alerting.test_policy import default_document


def test_relative_watchlist_file_is_read_next_to_the_policy(tmp_path: Path) -> None:
    document = default_document()
    document["high_profile"] = {"team": "vip", "watchlist_file": "vip.txt", "broadcasters": ["a"]}
    (tmp_path / "vip.txt").write_text("b\nc\n", encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    policy = load_policy(path)
    assert policy_watchlist(policy) == frozenset({"a", "b", "c"})


def test_missing_watchlist_file_fails_start_up_with_one_line(tmp_path: Path) -> None:
    document = default_document()
    document["high_profile"] = {"watchlist_file": "nowhere.txt"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        WatchlistFile(load_policy(path)).current()
    assert "nowhere.txt" in str(error.value)
    assert "\n" not in str(error.value)
