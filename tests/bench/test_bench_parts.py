"""The benchmark's own logic without a broker: its load, its latency stamps, its verdicts."""

from __future__ import annotations

import time

import orjson
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from models.decode import Rejection, decode_report
from streams.bench.load import one_per_broadcast, produced_at, realistic_mix, stamped_report_id
from streams.bench.measured import histogram_bound
from streams.bench.options import BenchOptions
from streams.bench.report import Target


def test_stamped_report_id_carries_its_produce_time() -> None:
    before = time.time()
    stamped = stamped_report_id(7)
    sent = produced_at(stamped)
    assert sent is not None
    assert before - 0.001 <= sent <= time.time() + 0.001
    assert produced_at("rep-000000001-abcdef01") is None
    assert produced_at("bench-notanumber-1") is None


def test_realistic_mix_has_the_asked_size_valid_keys_and_some_bad_input() -> None:
    mix = list(realistic_mix(reports=25_000, broadcasts=300, seed=3, end=time.time()))
    assert len(mix) == 25_000
    decoded = [(key, decode_report(value)) for key, value in mix]
    rejected = [d for _, d in decoded if isinstance(d, Rejection)]
    assert len(rejected) == 2, "one malformed message in 10,000"
    accepted = [(k, d) for k, d in decoded if not isinstance(d, Rejection)]
    assert all(key == report.broadcast_id.encode() for key, report in accepted)
    assert len({report.broadcast_id for _, report in accepted}) > 100
    assert sum(1 for _, r in accepted if r.category.value == "harassment") >= 8


def test_one_per_broadcast_gives_distinct_broadcasts() -> None:
    fill = list(one_per_broadcast(broadcasts=500, seed=1, at=time.time()))
    assert len({key for key, _ in fill}) == 500
    assert all(orjson.loads(value)["broadcast_id"].encode() == key for key, value in fill)


def test_targets_say_met_or_by_how_much_missed() -> None:
    assert Target("rate", 25_000, 20_000, True, "reports/s").met is True
    missed = Target("rate", 15_000, 20_000, True, "reports/s")
    assert missed.met is False
    assert missed.miss_percent == 25
    assert Target("p99", 750, 500, False, "ms").miss_percent == 50
    assert Target("p99", None, 500, False, "ms").met is None


def test_command_line_values_win_over_the_preset() -> None:
    quick = BenchOptions.preset(quick=True, tiny=False)
    chosen = quick.with_overrides(reports=1234, repeat=None)
    assert chosen.reports == 1234
    assert chosen.repeat == quick.repeat
    assert BenchOptions.preset(quick=False, tiny=True).reports < quick.reports


def test_a_histograms_bound_is_the_bucket_holding_the_quantile_over_every_label_set() -> None:
    registry = CollectorRegistry()
    pauses = Histogram(
        "pauses_seconds", "", ["generation"], buckets=(0.01, 0.1, 1.0), registry=registry
    )
    for generation, seconds in [("0", 0.005)] * 98 + [("1", 0.05), ("2", 0.5)]:
        pauses.labels(generation).observe(seconds)
    text = generate_latest(registry).decode()
    assert histogram_bound(text, "pauses_seconds", 0.98) == 0.01
    assert histogram_bound(text, "pauses_seconds", 0.99) == 0.1
    assert histogram_bound(text, "pauses_seconds", 1.0) == 1.0
    assert histogram_bound(text, "elsewhere_seconds", 1.0) is None
