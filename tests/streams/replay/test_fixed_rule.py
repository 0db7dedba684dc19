"""The fixed-threshold yardstick (streams/replay/fixed_rule.py)."""

from __future__ import annotations

from alerting.policy import Policy
from models.escalation import Severity
from streams.replay.fixed_rule import fixed_threshold_triggers
from streams.replay.labels import LabelKind
from tests.streams.replay.test_scoring import label


def test_fixed_threshold_pages_once_per_busy_spell(policy: Policy) -> None:
    busy = [label(float(t), "v", LabelKind.VIRAL) for t in range(0, 600, 20)]
    later = [label(2000.0 + t, "v", LabelKind.VIRAL) for t in range(5)]
    triggers = fixed_threshold_triggers(busy + later, policy, reports=5)
    assert [t.at for t in triggers] == [80.0, 2004.0]
    assert all(t.severity is Severity.ERROR for t in triggers)


def test_fixed_threshold_never_fires_on_a_single_report(policy: Policy) -> None:
    assert fixed_threshold_triggers([label(0, "cs", LabelKind.CHILD_SAFETY, "cs")], policy) == []
