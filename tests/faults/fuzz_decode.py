"""Coverage-guided fuzzing of the decoder with atheris (libFuzzer), outside pytest.

``./dev fuzz`` runs it for 60 s (pass libFuzzer flags to change that, e.g.
``./dev fuzz -runs=1000000``). The property is the worker's: whatever bytes
arrive, :func:`decode_report` returns a report or a rejection with a one-line
reason, and never raises. Each input is also read as a whole Kafka record (a
key or none, a value or a tombstone, split off the fuzzer's bytes) on the report
and the acknowledgement topics: a rejected one's dead letter must fit the
dead-letter topic's record limit. Not part of CI: hypothesis covers the same property
there (``test_decode_fuzz.py``) within the time budget.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import atheris
import orjson

with atheris.instrument_imports():
    from models.dead_letter import dead_letter_key, fitted_dead_letter
    from models.decode import Rejection, decode_acknowledgement, decode_report

from models.bounds import DEFAULT_PRODUCER_MAX_REQUEST_BYTES, fits
from streams.replay.traffic import MALFORMED_SAMPLES
from tests.support.broker import REPO_ROOT
from tests.support.reports import CREDIBLE_VIEWER, report

CORPUS = REPO_ROOT / ".run" / "fuzz" / "corpus"


def one_input(data: bytes) -> None:
    outcome = decode_report(data)
    if isinstance(outcome, Rejection):
        assert outcome.detail, "a rejection must say why"
        assert "\n" not in outcome.detail
    one_record(atheris.FuzzedDataProvider(data))


def one_record(provider: atheris.FuzzedDataProvider) -> None:
    key = (
        provider.ConsumeBytes(provider.ConsumeIntInRange(0, 4096))
        if provider.ConsumeBool()
        else None
    )
    value = provider.ConsumeBytes(provider.remaining_bytes()) if provider.ConsumeBool() else None
    for outcome in (decode_report(value), decode_acknowledgement(value)):
        if not isinstance(outcome, Rejection):
            continue
        letter = fitted_dead_letter(
            reason=outcome.reason,
            detail=outcome.detail,
            source_topic="broadcast-reports",
            source_partition=0,
            source_offset=0,
            source_timestamp_ms=0,
            payload=value or b"",
            failed_at=datetime.now(tz=UTC),
            record_limit=DEFAULT_PRODUCER_MAX_REQUEST_BYTES,
            key=key,
        )
        assert fits(
            DEFAULT_PRODUCER_MAX_REQUEST_BYTES, dead_letter_key(key), letter.to_json_bytes()
        )


def seed_corpus(directory: Path) -> Path:
    """Valid reports and the known malformed samples: mutating valid JSON reaches the
    field validators, which random bytes almost never do."""
    directory.mkdir(parents=True, exist_ok=True)
    seeds = [
        orjson.dumps(report("seed", "harassment", comment="seed comment")),
        orjson.dumps(report("seed", "child_safety", reporter=dict(CREDIBLE_VIEWER))),
        *MALFORMED_SAMPLES,
    ]
    for number, seed in enumerate(seeds):
        (directory / f"seed-{number}").write_bytes(seed)
    return directory


def main() -> None:
    arguments = list(sys.argv)
    if not any(not a.startswith("-") for a in arguments[1:]):
        arguments.append(str(seed_corpus(CORPUS)))
    atheris.Setup(arguments, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
