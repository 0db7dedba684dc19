"""Fuzz at the Kafka boundary: whole records (key, value, headers), not just values.

The decoder's own fuzzing (``test_decode_fuzz.py``) feeds bytes to one function;
here records as Kafka delivers them go through what the worker runs on them:
keys of every size and encoding (none, empty, invalid UTF-8, UTF-16, beyond any
broadcast id), values from tombstones (no value) to the broker's maximum,
well-formed reports keyed right and wrong, and the acknowledgement topic's input.
The properties are the worker's: nothing raises, every record ends in exactly
one outcome, and every record the worker writes because of one (dead letter,
re-published report, timeline) fits its topic's limit.

The same kinds of records, with headers, then go through a real worker on the
real broker, bounded in time: it must stay healthy and account for every one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.engine import DetectionEngine
from alerting.policy import load_policy
from models.bounds import DEFAULT_BROKER_MAX_MESSAGE_BYTES, fits, value_budget
from models.dead_letter import MAX_KEY_BYTES
from streams.worker.metrics import WorkerMetrics
from streams.worker.oncall_kpis import OncallKpiRecorder
from streams.worker.pipeline import InputMessage, ReportPipeline
from streams.worker.state_cache import BroadcastStates
from tests.support.acks import acknowledgement
from tests.support.faults import record_figures, wait_for
from tests.support.kafka import send_each
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import report

POLICY = load_policy()
INPUT_LIMIT = 64 * 1024
DEAD_LETTER_LIMIT = 1_000_000
"""The worker's dead-letter record limit under default settings (its producer's)."""
VALID_REPORT = orjson.dumps(report("wire-1", "spam"))
"""Sent under every key kind: keyed right once, re-published keyed right the other times."""
OUTCOMES = ("accepted", "late", "dead_lettered", "rerouted", "replayed")
WIRE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

keys = st.one_of(
    st.none(),
    st.just(b""),
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.text(max_size=32).map(lambda text: text.encode("utf-16", "surrogatepass")),
    st.sampled_from([MAX_KEY_BYTES, MAX_KEY_BYTES + 1, 64 * 1024]).map(lambda n: b"k" * n),
)
large_sizes = st.sampled_from(
    [INPUT_LIMIT, INPUT_LIMIT + 1, 700_000, value_budget(DEFAULT_BROKER_MAX_MESSAGE_BYTES, b"")]
)


@st.composite
def reports(draw: st.DrawFn) -> tuple[bytes | None, bytes]:
    """A well-formed report, keyed by its broadcast id or by something else."""
    broadcast_id = draw(st.text(min_size=1, max_size=128))
    value = orjson.dumps(report(broadcast_id, draw(st.sampled_from(["spam", "harassment"]))))
    key = draw(st.one_of(st.just(broadcast_id.encode("utf-8", "surrogatepass")), keys))
    return key, value


values = st.one_of(
    st.none(),
    st.just(b""),
    st.binary(max_size=512),
    large_sizes.map(lambda n: b"{" * n),
)
records = st.one_of(reports(), st.tuples(keys, values))


def pipeline() -> tuple[ReportPipeline, WorkerMetrics]:
    metrics = WorkerMetrics(POLICY.teams)
    decided = ReportPipeline(
        DetectionEngine(POLICY),
        BroadcastStates({}),
        metrics,
        max_message_bytes=INPUT_LIMIT,
        max_future_skew_seconds=300,
    )
    decided.dead_letter_record_limit = DEAD_LETTER_LIMIT
    return decided, metrics


def wire_messages(pairs: list[tuple[bytes | None, bytes | None]], topic: str) -> list[InputMessage]:
    return [
        InputMessage(topic=topic, partition=0, offset=offset, key=key, value=value)
        for offset, (key, value) in enumerate(pairs)
    ]


@WIRE
@given(st.lists(records, max_size=12))
def test_every_record_ends_in_one_outcome_and_what_it_causes_fits(
    pairs: list[tuple[bytes | None, bytes | None]],
) -> None:
    decided, metrics = pipeline()
    output = decided.process(wire_messages(pairs, "in"))
    outcomes = sum(
        sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "spikewatch_reports_received_total"
    )
    assert outcomes == len(pairs)
    for key, letter in output.dead_letters:
        assert fits(DEAD_LETTER_LIMIT, key, letter.to_json_bytes())
    for key, value in output.reroutes:
        assert fits(DEAD_LETTER_LIMIT, key, value)


@WIRE
@given(
    st.lists(
        st.one_of(
            st.tuples(keys, values),
            st.text(min_size=1, max_size=512).map(acknowledgement),
            st.text(min_size=1, max_size=64).map(
                lambda dedup_key: (b"wrong-key", acknowledgement(dedup_key)[1])
            ),
        ),
        max_size=12,
    )
)
def test_acknowledgement_input_never_raises_and_what_it_causes_fits(
    pairs: list[tuple[bytes | None, bytes | None]],
) -> None:
    metrics = WorkerMetrics(POLICY.teams)
    table: dict[bytes, bytes] = {}
    kpis = OncallKpiRecorder(
        table,
        POLICY.oncall,
        metrics,
        ack_topic="acks",
        partition_of=lambda _key: 0,
        max_message_bytes=INPUT_LIMIT,
    )
    kpis.dead_letter_record_limit = DEAD_LETTER_LIMIT
    for message in wire_messages(pairs, "acks"):
        output = kpis.process(message, time.time())
        for key, letter in output.dead_letters:
            assert fits(DEAD_LETTER_LIMIT, key, letter.to_json_bytes())
        for key, value in output.reroutes:
            assert fits(DEAD_LETTER_LIMIT, key, value)
    for key, value in table.items():
        assert fits(16 * 1024, key, value)


def broker_records() -> Iterator[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]]:
    """Every key kind with every value kind, each with a different set of headers."""
    key_kinds: list[bytes | None] = [
        None,
        b"",
        b"\xff\xfe\x00",
        "brücke".encode("utf-16"),
        b"k" * (MAX_KEY_BYTES + 1),
        b"wire-1",
    ]
    value_kinds: list[bytes | None] = [
        None,
        b"",
        b"\x00\xff",
        VALID_REPORT,
        b"{" * (INPUT_LIMIT + 1),
        b"{" * value_budget(DEFAULT_BROKER_MAX_MESSAGE_BYTES, b"k" * (MAX_KEY_BYTES + 1)),
    ]
    header_kinds: list[list[tuple[str, bytes | None]]] = [
        [],
        [("", b"")],
        [("trace", b"\xff" * 100), ("trace", None)],
        [(f"h{n}", b"v" * n) for n in range(20)],
    ]
    headers = itertools.cycle(header_kinds)
    for key, value in itertools.product(key_kinds, value_kinds):
        if key is not None or value is not None:  # aiokafka refuses a record with neither
            yield key, value, next(headers)


def ack_records() -> list[tuple[bytes | None, bytes | None]]:
    return [
        (b"tombstone", None),
        (b"x" * 70_000, b"\xff"),
        acknowledgement("spikewatch:wire-1:spam:1"),
        (b"wrong", acknowledgement("spikewatch:wire-2:spam:1")[1]),
        (b"big", b"{" * (INPUT_LIMIT + 1)),
    ]


@pytest.fixture
def wire_worker(bootstrap: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path)).start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.mark.kafka
def test_a_real_worker_takes_every_kind_of_record_and_accounts_for_each(
    bootstrap: str, wire_worker: WorkerProcess
) -> None:
    config = wire_worker.config
    reports_sent = list(broker_records())
    acks_sent: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]] = [
        (key, value, []) for key, value in ack_records()
    ]
    asyncio.run(send_each(bootstrap, config.input_topic, reports_sent))
    asyncio.run(send_each(bootstrap, config.ack_topic, acks_sent))

    def input_outcomes() -> float:
        text = wire_worker.metrics_text()
        return sum(
            metric_value(text, "spikewatch_reports_received_total", outcome=o) for o in OUTCOMES
        )

    def ack_outcomes() -> float:
        text = wire_worker.metrics_text()
        return metric_value(text, "spikewatch_acknowledgements_received_total") + metric_value(
            text, "spikewatch_oncall_dead_letters_total"
        )

    # a re-published report comes back as a second input message, decided once more
    reroutes = sum(
        1 for key, value, _ in reports_sent if value == VALID_REPORT and key != b"wire-1"
    )
    wait_for(
        lambda: (
            input_outcomes() >= len(reports_sent) + reroutes
            and ack_outcomes() >= len(acks_sent) + 1
        ),
        120,
        "every record to be decided",
    )
    health = wire_worker.health()
    record_figures(
        "wire_fuzz",
        {
            "input_records": len(reports_sent),
            "ack_records": len(acks_sent),
            "outcomes": input_outcomes(),
        },
    )
    assert wire_worker.process is not None
    assert wire_worker.process.poll() is None
    assert health is not None
    assert health["status"] == "ok"
    assert input_outcomes() == len(reports_sent) + reroutes
    assert ack_outcomes() == len(acks_sent) + 1  # the mis-keyed acknowledgement, re-published
