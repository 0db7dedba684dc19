"""Fixtures for the decision-core tests: the checked-in default policy and an engine on it."""

from __future__ import annotations

import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def engine(policy: Policy) -> DetectionEngine:
    return DetectionEngine(policy)
