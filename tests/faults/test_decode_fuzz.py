"""Fuzz the decoder: whatever bytes arrive, a ReportEvent or a Rejection with a reason.

Three generators, thousands of cases each (figures recorded for the README):
arbitrary bytes, arbitrary JSON documents (deep nesting, huge strings, odd
numbers), and valid reports with one field replaced, removed or retyped. The
worker calls exactly this function on every message, so no exception may escape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.dead_letter import DeadLetterReason
from models.decode import Rejection, decode_report
from models.report import ReportEvent
from tests.support.faults import record_figures
from tests.support.reports import report

CASES_PER_GENERATOR = 1500
FUZZ = settings(
    max_examples=CASES_PER_GENERATOR,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
tried: dict[str, int] = {}
rejected: dict[str, int] = {}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=12,
)
FIELDS = list(report("fuzz").keys())


def dumps(value: Any) -> bytes:
    """The stdlib encoder: unlike orjson it writes integers beyond 64 bits and lone
    surrogates (as escapes), both of which a hostile producer can send."""
    return json.dumps(value).encode()


@pytest.fixture(scope="module", autouse=True)
def fuzz_figures() -> Iterator[None]:
    """Records how many cases the generators tried, once the module has run."""
    yield
    if tried:
        record_figures(
            "decode_fuzz",
            {"cases_tried": sum(tried.values()), "by_generator": tried, "rejected": rejected},
        )


def check(generator: str, payload: bytes) -> None:
    tried[generator] = tried.get(generator, 0) + 1
    outcome = decode_report(payload)
    if isinstance(outcome, Rejection):
        rejected[generator] = rejected.get(generator, 0) + 1
        assert isinstance(outcome.reason, DeadLetterReason)
        assert outcome.detail, "every rejection says why"
        assert "\n" not in outcome.detail
        assert len(outcome.detail) <= 500
    else:
        assert isinstance(outcome, ReportEvent)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    check("bytes", payload)


@FUZZ
@given(json_values)
def test_arbitrary_json_documents_never_raise(document: Any) -> None:
    check("json", dumps(document))


PLACEHOLDER = "__fuzzed__"


@FUZZ
@given(
    field=st.sampled_from(FIELDS),
    replacement=json_values | st.just(...),
    nesting=st.integers(min_value=0, max_value=3000),
)
def test_reports_with_one_field_broken_never_raise(
    field: str, replacement: Any, nesting: int
) -> None:
    payload = report("fuzz-target")
    if replacement is ...:
        del payload[field]
        check("mutated", dumps(payload))
        return
    payload[field] = PLACEHOLDER
    broken = b"[" * nesting + dumps(replacement) + b"]" * nesting
    check("mutated", dumps(payload).replace(dumps(PLACEHOLDER), broken, 1))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * (64 * 1024 + 1), DeadLetterReason.TOO_LARGE),
        (b"[" * 30_000 + b"]" * 30_000, DeadLetterReason.NOT_JSON),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, DeadLetterReason.NOT_JSON),
        (orjson.dumps(report("huge", comment="x" * 60_000)), DeadLetterReason.INVALID_FIELD),
        (b'{"schema_version": 1, "report_id": "\xff\xfe"}', DeadLetterReason.NOT_UTF8),
        (b'{"schema_version": 1, "report_id": "\\ud800"}', DeadLetterReason.NOT_JSON),
        (None, DeadLetterReason.NOT_JSON),
    ],
    ids=[
        "oversized",
        "deep-array",
        "deep-object",
        "huge-string",
        "bad-utf8",
        "lone-surrogate",
        "tombstone",
    ],
)
def test_hostile_classics_get_their_reason(payload: bytes | None, reason: DeadLetterReason) -> None:
    outcome = decode_report(payload)
    assert isinstance(outcome, Rejection)
    assert outcome.reason is reason, outcome.detail
