"""Turn raw Kafka bytes into an input contract (report, acknowledgement), or say why not.

The worker consumes raw bytes and calls :func:`decode_report` instead of letting
Faust deserialize: a Faust decode error acks the message and crashes the agent,
whereas a :class:`Rejection` goes to the dead-letter topic with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.acknowledgement import Acknowledgement
from models.dead_letter import DeadLetterReason
from models.errors import first_problem, one_line
from models.escalation_v2 import EscalationV2, parse_escalation
from models.fast_report import fast_report
from models.report import ReportEvent
from models.verdict import Verdict

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

Contract = TypeVar("Contract", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: DeadLetterReason
    detail: str


def decode_report(
    payload: bytes | None, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> ReportEvent | Rejection:
    """Validate one message value against ReportEvent v1; never raises on bad input.

    The ordinary well-formed report takes :func:`~models.fast_report.fast_report`;
    whatever it is unsure of is validated (and, if need be, rejected) by pydantic.
    """
    return decode_contract(payload, ReportEvent, "reported_at", max_bytes, fast_report)


def decode_acknowledgement(
    payload: bytes | None, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> Acknowledgement | Rejection:
    """Validate one message value against Acknowledgement v1; never raises on bad input."""
    return decode_contract(payload, Acknowledgement, "acted_at", max_bytes)


def decode_verdict(
    payload: bytes | None, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> Verdict | Rejection:
    """Validate one message value against Verdict v1; never raises on bad input."""
    return decode_contract(payload, Verdict, "decided_at", max_bytes)


def decode_escalation(
    payload: bytes | None, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> EscalationV2 | Rejection:
    """Read an escalation of either version as v2 (see ``parse_escalation``); never raises."""
    return decode_contract(payload, EscalationV2, "detected_at", max_bytes, parse=parse_escalation)


def decode_contract(
    payload: bytes | None,
    contract: type[Contract],
    time_field: str,
    max_bytes: int,
    fast: Callable[[bytes], Contract | None] | None = None,
    parse: Callable[[bytes], Contract] | None = None,
) -> Contract | Rejection:
    """Validate bytes against one input contract; ``time_field`` errors are bad timestamps.

    ``fast`` may decode the payload first; it returns None to leave it to pydantic.
    ``parse`` replaces the contract's own validation (e.g. to read older versions).
    """
    if payload is None:
        return Rejection(DeadLetterReason.NOT_JSON, "message has no value (tombstone)")
    if len(payload) > max_bytes:
        return Rejection(
            DeadLetterReason.TOO_LARGE, f"message is {len(payload)} bytes, limit is {max_bytes}"
        )
    try:
        if not payload.isascii():  # ASCII is UTF-8, and checking it copies nothing
            payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejection(DeadLetterReason.NOT_UTF8, f"invalid UTF-8 at byte {error.start}")
    if fast is not None:
        decoded = fast(payload)
        if decoded is not None:
            return decoded
    try:
        return parse(payload) if parse is not None else contract.model_validate_json(payload)
    except ValidationError as error:
        return _rejection_from(error, time_field)
    except (ValueError, TypeError, RecursionError) as error:
        return Rejection(DeadLetterReason.INVALID_FIELD, one_line(str(error)))


def _rejection_from(error: ValidationError, time_field: str) -> Rejection:
    problem = first_problem(error)
    kind, location = problem.kind, problem.dotted
    detail = one_line(f"{location or 'message'}: {problem.message}")
    if kind == "json_invalid":
        return Rejection(DeadLetterReason.NOT_JSON, detail)
    if not location and kind in ("model_type", "model_attributes_type", "dict_type"):
        return Rejection(DeadLetterReason.NOT_AN_OBJECT, detail)
    if kind == "missing":
        return Rejection(DeadLetterReason.MISSING_FIELD, detail)
    if location == "schema_version":
        return Rejection(DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION, detail)
    if location == time_field:
        return Rejection(DeadLetterReason.BAD_TIMESTAMP, detail)
    return Rejection(DeadLetterReason.INVALID_FIELD, detail)
