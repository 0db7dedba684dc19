"""Verdict v1: bounded, pseudonymous, and read back by the decoder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from models.dead_letter import DeadLetterReason
from models.decode import Rejection, decode_escalation, decode_verdict
from models.verdict import MAX_NOTE_LENGTH, Verdict, VerdictKind
from tests.support.escalations import escalation

AT = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def test_verdict_round_trips_through_its_wire_form() -> None:
    verdict = Verdict(
        dedup_key="k",
        verdict=VerdictKind.FALSE_ALARM,
        note="popular stream",
        actor="p-1",
        decided_at=AT,
    )
    assert decode_verdict(verdict.to_json_bytes()) == verdict
    assert verdict.tool == "spikewatch-console"


def test_note_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Verdict(
            dedup_key="k",
            verdict=VerdictKind.CONFIRMED,
            note="x" * (MAX_NOTE_LENGTH + 1),
            actor="p-1",
            decided_at=AT,
        )


def test_actor_must_look_like_an_id_not_an_address() -> None:
    with pytest.raises(ValidationError):
        Verdict(dedup_key="k", verdict=VerdictKind.CONFIRMED, actor="ana @x.org", decided_at=AT)


def test_bad_verdicts_are_rejected_with_a_reason() -> None:
    unknown = (
        b'{"schema_version":1,"dedup_key":"k","verdict":"maybe","actor":"p",'
        b'"decided_at":"2026-12-02T18:00:00Z"}'
    )
    rejection = decode_verdict(unknown)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is DeadLetterReason.INVALID_FIELD
    naive = unknown.replace(b"maybe", b"confirmed").replace(b"Z", b"")
    assert decode_verdict(naive) == Rejection(
        DeadLetterReason.BAD_TIMESTAMP,
        "decided_at: Input should have timezone info",
    )


def test_escalations_of_either_version_decode_and_garbage_is_rejected() -> None:
    decoded = decode_escalation(escalation("k").to_json_bytes())
    assert not isinstance(decoded, Rejection)
    assert decoded.schema_version == 2
    unsupported = decode_escalation(b'{"schema_version": 7}')
    assert isinstance(unsupported, Rejection)
    assert unsupported.reason is DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION
    garbage = decode_escalation(b"not json")
    assert isinstance(garbage, Rejection)
    assert garbage.reason is DeadLetterReason.NOT_JSON
