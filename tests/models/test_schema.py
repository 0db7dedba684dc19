"""Tests for models/schema.py: the published JSON Schemas cannot drift from the models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.escalation import Escalation
from models.schema import CONTRACTS, SCHEMA_DIR, render, stale_schemas, write_schemas


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, copy)
    return copy


def test_checked_in_schemas_match_the_models() -> None:
    assert stale_schemas() == []


def test_every_contract_has_a_checked_in_file() -> None:
    assert {path.name for path in SCHEMA_DIR.glob("*.json")} == set(CONTRACTS)


def test_untouched_copy_is_not_stale(schema_copy: Path) -> None:
    assert stale_schemas(schema_copy) == []


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_changed_file_in_a_copy_is_stale(schema_copy: Path, name: str) -> None:
    path = schema_copy / name
    document = json.loads(path.read_text(encoding="utf-8"))
    document["title"] = "Edited by hand"
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert stale_schemas(schema_copy) == [name]


def test_whitespace_only_change_is_stale(schema_copy: Path) -> None:
    path = schema_copy / "escalation.v1.json"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert stale_schemas(schema_copy) == ["escalation.v1.json"]


def test_missing_file_in_a_copy_is_stale(schema_copy: Path) -> None:
    (schema_copy / "dead-letter.v1.json").unlink()
    assert stale_schemas(schema_copy) == ["dead-letter.v1.json"]


def test_write_schemas_into_an_empty_directory_makes_it_current(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "schemas"
    written = write_schemas(target)
    assert sorted(path.name for path in written) == sorted(CONTRACTS)
    assert stale_schemas(target) == []
    for name in CONTRACTS:
        assert (target / name).read_bytes() == (SCHEMA_DIR / name).read_bytes()


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_rendered_schema_is_draft_2020_12_json(name: str) -> None:
    model, mode = CONTRACTS[name]
    text = render(model, mode)
    assert text.endswith("\n")
    document = json.loads(text)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["type"] == "object"
    assert render(model, mode) == text  # deterministic


def test_report_event_schema_requires_the_required_fields() -> None:
    document = json.loads((SCHEMA_DIR / "report-event.v1.json").read_text(encoding="utf-8"))
    assert set(document["required"]) == {
        "schema_version",
        "report_id",
        "broadcast_id",
        "reporter_id",
        "category",
        "reported_at",
    }


def test_escalation_schema_describes_the_wire_keys() -> None:
    document = json.loads((SCHEMA_DIR / "escalation.v1.json").read_text(encoding="utf-8"))
    properties = set(document["properties"])
    assert "class" in properties
    assert "escalation_class" not in properties
    assert set(Escalation.model_fields) - {"escalation_class"} | {"class"} == properties
