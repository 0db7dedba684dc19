"""The fixed-threshold rule to beat: "page at N reports of a category in five minutes"."""

from __future__ import annotations

from collections import defaultdict, deque

from alerting.detectors import category_severity
from alerting.policy import Policy
from models.escalation import EscalationClass
from models.report import Category
from streams.replay.labels import LabelledReport, Trigger


def fixed_threshold_triggers(
    labels: list[LabelledReport], policy: Policy, *, reports: int = 5, window_seconds: float = 300
) -> list[Trigger]:
    """ "Page at ``reports`` reports of a category in ``window_seconds``", one page until quiet.

    Counts reports (retries too) as they reach Kafka, and knows nothing of
    audiences, trust or clocks: the rule the issue says cannot do the job,
    measured on the same log.
    """
    recent: dict[tuple[str, Category], deque[float]] = defaultdict(deque)
    open_until: dict[tuple[str, Category], float] = {}
    triggers: list[Trigger] = []
    for label in sorted(labels, key=lambda label: label.delivered_at):
        key = (label.broadcast_id, label.category)
        now = label.delivered_at
        times = recent[key]
        times.append(now)
        while times[0] <= now - window_seconds:
            times.popleft()
        if len(times) >= reports and now > open_until.get(key, float("-inf")):
            triggers.append(
                Trigger(
                    label.broadcast_id,
                    label.category,
                    now,
                    category_severity(label.category, policy),
                    EscalationClass.REPORT_SPIKE,
                    policy.category(label.category).team,
                )
            )
        if len(times) >= reports or now <= open_until.get(key, float("-inf")):
            open_until[key] = now + window_seconds
    return triggers
