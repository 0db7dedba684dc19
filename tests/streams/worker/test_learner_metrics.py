"""The learners' figures on the metrics page: per partition, read when scraped."""

from __future__ import annotations

import pytest

from alerting.baseline import BaseRateLearner
from alerting.policy import load_policy
from models.report import Category
from streams.worker.metrics import WorkerMetrics
from streams.worker.state_cache import BroadcastStates

POLICY = load_policy()
T0 = 1_700_000_000.0


def sample(metrics: WorkerMetrics, name: str, lane: str = "active", **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"lane": lane, **labels})


def test_before_the_worker_shows_its_learners_the_gauges_are_declared_and_empty() -> None:
    metrics = WorkerMetrics({"team-a"})
    families = {family.name: family for family in metrics.registry.collect()}
    for name in (
        "spikewatch_learned_rate_ratio",
        "spikewatch_learned_rate_at_limit",
        "spikewatch_learned_weight_dispersion",
    ):
        assert families[name].samples == []


def test_a_flooded_partition_shows_its_rate_at_the_ceiling_a_fresh_one_its_prior() -> None:
    metrics = WorkerMetrics({"team-a"})
    flooded = BaseRateLearner()
    flooded.learn(T0, 1e12, Category.HARASSMENT, 10**12, POLICY, raw_weight_milli=1500)
    metrics.learners.show(lambda: [(2, flooded), (5, BaseRateLearner())], POLICY)
    harassment = Category.HARASSMENT.value
    ratio = sample(metrics, "spikewatch_learned_rate_ratio", partition="2", category=harassment)
    assert ratio == pytest.approx(POLICY.learning.max_factor)
    at_limit = "spikewatch_learned_rate_at_limit"
    assert sample(metrics, at_limit, partition="2", category=harassment) == 1
    assert sample(metrics, at_limit, partition="5", category=harassment) == 0
    fresh = sample(metrics, "spikewatch_learned_rate_ratio", partition="5", category=harassment)
    assert fresh == pytest.approx(1.0)
    dispersion = "spikewatch_learned_weight_dispersion"
    assert sample(metrics, dispersion, partition="5") == POLICY.learning.weight_dispersion
    assert sample(metrics, dispersion, partition="2") == pytest.approx(flooded.dispersion(POLICY))
    assert flooded.dispersion(POLICY) > POLICY.learning.weight_dispersion


def test_only_the_learners_the_worker_holds_are_shown_and_a_forgotten_one_goes() -> None:
    metrics = WorkerMetrics({"team-a"})
    states = BroadcastStates({}, lambda key: key[-1] % 4)
    metrics.learners.show(states.cached_learners, POLICY)
    states.learner(1)
    states.learner(3)
    shown = {
        point.labels["partition"]
        for family in metrics.registry.collect()
        if family.name == "spikewatch_learned_weight_dispersion"
        for point in family.samples
    }
    assert shown == {"1", "3"}
    states.retain({3})
    assert sample(metrics, "spikewatch_learned_weight_dispersion", partition="1") is None
    assert sample(metrics, "spikewatch_learned_weight_dispersion", partition="3") is not None


def test_a_shadow_lane_shows_beside_the_active_one_against_its_own_policy() -> None:
    """The same evidence, four times the active policy's priors: within its band of
    thirty, at the ceiling of a candidate whose band is three."""
    candidate = POLICY.model_copy(
        update={"learning": POLICY.learning.model_copy(update={"max_factor": 3.0})}
    )
    metrics = WorkerMetrics({"team-a"})
    learner = BaseRateLearner()
    exposure = 1e12
    for category, route in POLICY.categories.items():
        weight = round(4 * route.base_rate_per_viewer_second * exposure * 1000)
        learner.learn(T0, exposure if category is Category.SPAM else 0, category, weight, POLICY)
    metrics.learners.show(lambda: [(0, learner)], POLICY)
    metrics.learners.show(lambda: [(0, learner)], candidate, lane="shadow")
    at_limit, spam = "spikewatch_learned_rate_at_limit", Category.SPAM.value
    assert sample(metrics, at_limit, partition="0", category=spam) == 0
    assert sample(metrics, at_limit, lane="shadow", partition="0", category=spam) == 1
    ratio = sample(metrics, "spikewatch_learned_rate_ratio", partition="0", category=spam)
    assert ratio == pytest.approx(4.0, rel=0.01)
