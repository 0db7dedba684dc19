"""Synthetic traffic is consistent with the policy that judges it."""

from __future__ import annotations

import pytest

from alerting.policy import load_policy
from models.decode import decode_report
from models.report import Category, ReportEvent
from streams.replay.traffic import MALFORMED_SAMPLES, TrafficGenerator

POLICY = load_policy()


def test_background_volume_matches_the_policy_base_rates() -> None:
    generator = TrafficGenerator(POLICY, broadcasts=50, rate_per_second=20.0)
    total_rate = sum(POLICY.category(c).base_rate_per_viewer_second for c in Category)
    audience = sum(b.viewers for b in generator.broadcasts)
    assert audience * total_rate == pytest.approx(20.0, rel=0.01)


def test_generated_reports_are_valid_contract_events() -> None:
    generator = TrafficGenerator(POLICY, broadcasts=10, rate_per_second=5.0)
    reports = [generator.background(1_800_000_000.0) for _ in range(50)]
    for payload in reports:
        ReportEvent.model_validate(payload)
    assert len({r["reporter_id"] for r in reports}) == 50


def test_malformed_samples_are_all_rejected() -> None:
    for sample in MALFORMED_SAMPLES:
        assert not isinstance(decode_report(sample), ReportEvent), sample
