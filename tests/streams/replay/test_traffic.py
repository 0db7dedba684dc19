"""Synthetic traffic at the platform's own rates, whatever the policy that judges it."""

from __future__ import annotations

import pytest

from models.decode import decode_report
from models.report import ReportEvent
from streams.replay.traffic import MALFORMED_SAMPLES, REFERENCE_RATES, TrafficGenerator


def test_background_volume_matches_the_platform_rates() -> None:
    generator = TrafficGenerator(broadcasts=50, rate_per_second=20.0)
    audience = sum(b.viewers for b in generator.broadcasts)
    assert audience * sum(REFERENCE_RATES.values()) == pytest.approx(20.0, rel=0.01)


def test_a_busier_platform_has_the_same_volume_from_smaller_audiences() -> None:
    busy = {category: rate * 10 for category, rate in REFERENCE_RATES.items()}
    reference = TrafficGenerator(broadcasts=50, rate_per_second=20.0, seed=3)
    ten_times = TrafficGenerator(rates=busy, broadcasts=50, rate_per_second=20.0, seed=3)
    assert sum(b.viewers for b in ten_times.broadcasts) == pytest.approx(
        sum(b.viewers for b in reference.broadcasts) / 10, rel=0.01
    )
    assert ten_times.rates == busy


def test_generated_reports_are_valid_contract_events() -> None:
    generator = TrafficGenerator(broadcasts=10, rate_per_second=5.0)
    reports = [generator.background(1_800_000_000.0) for _ in range(50)]
    for payload in reports:
        ReportEvent.model_validate(payload)
    assert len({r["reporter_id"] for r in reports}) == 50


def test_malformed_samples_are_all_rejected() -> None:
    for sample in MALFORMED_SAMPLES:
        assert not isinstance(decode_report(sample), ReportEvent), sample
