"""Tests for alerting/policy.py: the default policy loads, bad ones fail with one line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.engine import DetectionEngine
from alerting.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy
from alerting.state import BroadcastState
from models.errors import SpikewatchError
from models.escalation import Severity
from models.report import Category, ReportEvent


def default_document() -> dict[str, Any]:
    raw = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def write_policy(directory: Path, document: Any) -> Path:
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def assert_one_line_naming(error: PolicyError, *names: str) -> None:
    message = str(error)
    assert message
    assert "\n" not in message
    assert "\r" not in message
    for name in names:
        assert name in message, f"{name!r} not named in {message!r}"


# --- the default policy ----------------------------------------------------------------


def test_default_policy_loads_from_the_package(policy: Policy) -> None:
    assert policy.policy_version == default_document()["policy_version"]


def test_default_policy_routes_every_category(policy: Policy) -> None:
    assert set(policy.categories) == set(Category)
    for category in Category:
        assert policy.category(category).team


def test_default_policy_figures_match_the_yaml(policy: Policy) -> None:
    document = default_document()
    assert policy.window.length_seconds == document["window"]["length_seconds"]
    assert policy.window.bucket_seconds == document["window"]["bucket_seconds"]
    assert policy.spike.trigger_p_value == document["spike"]["trigger_p_value"]
    assert policy.spike.sustain_p_value == document["spike"]["sustain_p_value"]
    assert {c.value for c in policy.credible_report.categories} == set(
        document["credible_report"]["categories"]
    )
    for name, route in document["categories"].items():
        loaded = policy.category(Category(name))
        assert loaded.team == route["team"]
        assert loaded.severity == Severity(route["severity"])
        assert loaded.base_rate_per_viewer_second == route["base_rate_per_viewer_second"]


def test_default_policy_teams_are_the_routed_teams(policy: Policy) -> None:
    document = default_document()
    routes = document["categories"].values()
    assert policy.teams == frozenset(route["team"] for route in routes) | {
        document["coordination"]["team"],
        document["high_profile"]["team"],
    } | {team for route in routes for team in route.get("regional_teams", {}).values()}


def test_default_policy_keeps_spam_and_copyright_at_warning(policy: Policy) -> None:
    for category in (Category.SPAM, Category.COPYRIGHT):
        assert policy.category(category).max_severity is Severity.WARNING


def test_default_policy_loads_from_a_string_path() -> None:
    assert load_policy(str(DEFAULT_POLICY_PATH)).policy_version == load_policy().policy_version


def test_policy_error_is_a_spikewatch_error_that_says_what_to_do() -> None:
    error = PolicyError("policy file p.yaml: window.length_seconds: too small")
    assert isinstance(error, SpikewatchError)
    assert error.line() == (
        "policy file p.yaml: window.length_seconds: too small; fix the policy file and retry"
    )


# --- bad policies ------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        node[leaf] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        del node[leaf]

    return mutate


BAD_POLICIES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("unknown_key_in_section", _set("window.lenght_seconds", 300), ("window.lenght_seconds",)),
    ("unknown_top_level_key", _set("thresholds", {"x": 1}), ("thresholds",)),
    ("unknown_key_in_route", _set("categories.spam.sevrity", "info"), ("categories.spam",)),
    ("wrong_type_number", _set("window.length_seconds", "five minutes"), ("length_seconds",)),
    ("wrong_type_int", _set("spike.min_distinct_reporters", 2.5), ("min_distinct_reporters",)),
    ("wrong_type_section", _set("lifecycle", [300]), ("lifecycle",)),
    ("negative_seconds", _set("lifecycle.resolve_after_quiet_seconds", -1), ("resolve_after",)),
    ("p_value_not_below_one", _set("spike.trigger_p_value", 1.5), ("trigger_p_value",)),
    ("missing_category_route", _delete("categories.copyright"), ("categories", "copyright")),
    ("sustain_below_trigger", _set("spike.sustain_p_value", 1e-7), ("sustain_p_value",)),
    ("bucket_longer_than_window", _set("window.bucket_seconds", 600), ("bucket_seconds",)),
    (
        "quiet_period_shorter_than_the_window",
        _set("lifecycle.resolve_after_quiet_seconds", 20),
        ("resolve_after_quiet_seconds (20)", "window.length_seconds (300)", "lengthen"),
    ),
    (
        "unknown_category",
        _set(
            "categories.spamm",
            {"team": "x", "severity": "info", "base_rate_per_viewer_second": 1e-7},
        ),
        ("categories", "spamm"),
    ),
    ("unknown_severity", _set("categories.spam.severity", "urgent"), ("categories.spam.severity",)),
    ("bad_team_name", _set("categories.spam.team", "Integrity Team"), ("categories.spam.team",)),
    (
        "zero_base_rate",
        _set("categories.other.base_rate_per_viewer_second", 0),
        ("categories.other.base_rate_per_viewer_second",),
    ),
    (
        "unknown_credible_category",
        _set("credible_report.categories", ["child_safty"]),
        ("credible_report.categories",),
    ),
    ("missing_policy_version", _delete("policy_version"), ("policy_version",)),
    (
        "cap_too_small",
        _set("window.max_reporters_per_category", 3),
        ("window.max_reporters_per_category",),
    ),
    ("coordination_pages", _set("coordination.severity", "critical"), ("coordination",)),
    ("suspect_share_zero", _set("coordination.min_suspect_share", 0), ("min_suspect_share",)),
    ("ramp_multiplier_one", _set("ramp.rate_multiplier", 1), ("ramp.rate_multiplier",)),
    ("ramp_threshold_zero", _set("ramp.threshold", 0), ("ramp.threshold",)),
    # a broadcast of one category is held to threshold - ln(12): it must stay above zero
    ("ramp_threshold_below_ln_categories", _set("ramp.threshold", 2.4), ("ramp.threshold",)),
    ("learning_band_below_one", _set("learning.max_factor", 0.5), ("learning.max_factor",)),
    ("learning_unknown_key", _set("learning.half_life", 60), ("learning.half_life",)),
    ("flagger_weight_below_one", _set("trust.trusted_flagger_weight", 0.5), ("trust",)),
    ("bad_regional_team", _set("categories.spam.regional_teams", {"eu": "EU Team"}), ("regional",)),
    ("high_profile_bad_team", _set("high_profile.team", "VIP"), ("high_profile.team",)),
]


@pytest.mark.parametrize(
    ("mutate", "names"),
    [pytest.param(mutate, names, id=case) for case, mutate, names in BAD_POLICIES],
)
def test_load_policy_rejects_bad_policy_with_one_line_naming_the_field(
    tmp_path: Path, mutate: Mutation, names: tuple[str, ...]
) -> None:
    document = copy.deepcopy(default_document())
    mutate(document)
    path = write_policy(tmp_path, document)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path), *names)


def test_load_policy_control_unchanged_copy_loads(tmp_path: Path) -> None:
    # the mutation cases above fail because of the mutation, not because of the copy
    path = write_policy(tmp_path, default_document())
    assert load_policy(path) == load_policy()


def test_load_policy_rejects_invalid_yaml_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("policy_version: x\nwindow: [unclosed\n  length_seconds: 3\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path), "YAML")


def test_load_policy_rejects_missing_file_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path))


def test_load_policy_rejects_a_directory_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert_one_line_naming(caught.value, str(tmp_path))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_load_policy_rejects_a_document_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path), "(top level)")


def test_load_policy_rejects_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"policy_version: caf\xe9\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path))


def test_load_policy_rejects_an_infinite_window_length(tmp_path: Path) -> None:
    document = default_document()
    document["window"]["length_seconds"] = float("inf")
    path = write_policy(tmp_path, document)
    try:
        loaded = load_policy(path)
    except PolicyError as error:
        assert_one_line_naming(error, "window.length_seconds")
        return
    # if it loads, the engine must be able to use it
    report = ReportEvent.model_validate(
        {
            "schema_version": 1,
            "report_id": "r-1",
            "broadcast_id": "b-1",
            "reporter_id": "u-1",
            "category": "harassment",
            "reported_at": "2026-11-26T12:00:00+00:00",
        }
    )
    DetectionEngine(loaded).observe(BroadcastState("b-1"), report)
