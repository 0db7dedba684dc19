"""JSON Schema files for downstream consumers, generated from the models.

``spikewatch schema`` rewrites ``models/schemas/``; a test fails when the
checked-in files and the models disagree, so the published contract cannot
drift from the code silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from models.acknowledgement import Acknowledgement
from models.dead_letter import DeadLetter
from models.delivery_failure import DeliveryFailure
from models.escalation import Escalation
from models.escalation_v2 import EscalationV2
from models.report import ReportEvent
from models.verdict import Verdict

SCHEMA_DIR = Path(__file__).parent / "schemas"

JsonSchemaMode = Literal["validation", "serialization"]

CONTRACTS: dict[str, tuple[type[BaseModel], JsonSchemaMode]] = {
    "report-event.v1.json": (ReportEvent, "validation"),
    "escalation.v1.json": (Escalation, "serialization"),
    "escalation.v2.json": (EscalationV2, "serialization"),
    "dead-letter.v1.json": (DeadLetter, "serialization"),
    "delivery-failure.v1.json": (DeliveryFailure, "serialization"),
    "acknowledgement.v1.json": (Acknowledgement, "validation"),
    "verdict.v1.json": (Verdict, "validation"),
}
"""Inputs (reports, acknowledgements, verdicts) are described as producers must write them,
outputs as we write them."""


def render(model: type[BaseModel], mode: JsonSchemaMode) -> str:
    schema = model.model_json_schema(by_alias=True, mode=mode)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (model, mode) in CONTRACTS.items():
        path = directory / name
        path.write_text(render(model, mode), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from the models."""
    stale = []
    for name, (model, mode) in CONTRACTS.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(model, mode):
            stale.append(name)
    return stale
