"""What each partition's base-rate learner has learned, as gauges read at scrape time.

The learner moves the detectors' expectations without anyone deciding it
(:mod:`alerting.baseline`); these gauges let the engineer who runs the worker see
where it has taken them: each category's rate against the policy's prior, whether the
traffic is pushing it past the band ``learning.max_factor`` allows, and how far the
platform's reporters' trust weights spread. Computed when Prometheus scrapes, from the
learners the worker holds, so a partition handed to another worker disappears with its
learner, and the report path pays nothing for them.

A worker running a candidate policy in shadow (``SPIKEWATCH_SHADOW_POLICY_FILE``) shows
that lane's learners too, under ``lane="shadow"``: a candidate with calibrated priors is
tried by watching its ratios sit near one before it is promoted. Alerts read the active
lane only.

The scrape runs on the worker's event loop (:mod:`streams.worker.web`), the loop that
moves the learners, so it never reads one half-updated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerting.baseline import BaseRateLearner, learned_rates
from alerting.policy import Policy

LearnerSource = Callable[[], Iterable[tuple[int, BaseRateLearner]]]
"""The ``(partition, learner)`` pairs to show, asked at every scrape."""


class LearnerCollector(Collector):
    """Declared with the worker's other metrics, with nothing to show until
    :meth:`show` gives it a lane's learners and the policy they learn under."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lanes: dict[str, tuple[LearnerSource, Policy]] = {}
        registry.register(self)

    def show(self, source: LearnerSource, policy: Policy, lane: str = "active") -> None:
        self._lanes[lane] = (source, policy)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ratio = GaugeMetricFamily(
            "spikewatch_learned_rate_ratio",
            "Each category's learned base rate over the policy's prior, per lane and input"
            " partition.",
            labels=["lane", "partition", "category"],
        )
        limit = GaugeMetricFamily(
            "spikewatch_learned_rate_at_limit",
            "1 where the traffic would take a category's rate above learning.max_factor times"
            " its prior and the learner holds it there (ordinary broadcasts may page), -1 where"
            " below the prior over max_factor (surges need more reporters), else 0.",
            labels=["lane", "partition", "category"],
        )
        dispersion = GaugeMetricFamily(
            "spikewatch_learned_weight_dispersion",
            "How many times an ordinary reporter's raw trust weight counts for one reporter,"
            " per lane and input partition (sum of squared weights over their sum, learned).",
            labels=["lane", "partition"],
        )
        for lane, (source, policy) in self._lanes.items():
            for partition, learner in source():
                label = str(partition)
                for category, learned in learned_rates(learner, policy).items():
                    ratio.add_metric([lane, label, category.value], learned.ratio)
                    limit.add_metric([lane, label, category.value], int(learned.limit))
                dispersion.add_metric([lane, label], learner.dispersion(policy))
        yield ratio
        yield limit
        yield dispersion
