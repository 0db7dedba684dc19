"""Fixtures for the decision-core tests: an engine on the checked-in default policy."""

from __future__ import annotations

import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy


@pytest.fixture
def engine(policy: Policy) -> DetectionEngine:
    return DetectionEngine(policy)
