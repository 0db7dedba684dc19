"""The broadcast-wide abuse statistic counts the categories whose ceiling pages: reports
in a low-harm category (spam, copyright) neither count in it nor dilute its expectation,
and are judged in their own window, coordination included."""

from __future__ import annotations

import pytest

from alerting.engine import DetectionEngine
from alerting.policy import Policy, abuse_categories
from alerting.state import BroadcastState
from models.escalation import EscalationClass, EventAction
from models.report import Category
from tests.alerting.helpers import ORDINARY, T0, make_report, with_changes
from tests.alerting.test_coordination import CAMPAIGN, observe_all

SPREAD = ("harassment", "hateful_conduct", "violent_threat")


def test_the_abuse_categories_are_those_whose_ceiling_pages(policy: Policy) -> None:
    abuse = abuse_categories(policy)
    assert Category.SPAM not in abuse
    assert Category.COPYRIGHT not in abuse
    assert {Category.HARASSMENT, Category.CHILD_SAFETY, Category.OTHER} <= abuse
    assert all(policy.category(c).max_severity.pages == (c in abuse) for c in Category)


@pytest.fixture
def loud_low_harm(policy: Policy) -> Policy:
    """A platform where spam and copyright make most of the report rate."""
    categories = policy.model_dump(mode="json")["categories"]
    categories["spam"]["base_rate_per_viewer_second"] = 2e-5
    categories["copyright"]["base_rate_per_viewer_second"] = 1e-5
    return with_changes(policy, categories=categories)


def test_a_surge_spread_over_abuse_categories_is_not_diluted_by_the_low_harm_rates(
    loud_low_harm: Policy,
) -> None:
    engine = DetectionEngine(loud_low_harm)
    state = BroadcastState("b-1")
    reports = [
        make_report(
            f"viewer-{index}",
            at=T0 + 2.0 * index,
            category=SPREAD[index % 3],
            viewers=2000,
            reporter=ORDINARY,
        )
        for index in range(9)
    ]

    sent = observe_all(engine, state, reports)

    triggers = [e for e in sent if e.event_action is EventAction.TRIGGER]
    assert len(triggers) == 1
    assert triggers[0].severity.pages
    fired = {rule.rule for rule in triggers[0].evidence.rules if rule.fired}
    assert fired == {"audience_spike:all_categories"}
    abuse_rate = sum(
        loud_low_harm.category(c).base_rate_per_viewer_second
        for c in abuse_categories(loud_low_harm)
    )
    assert triggers[0].evidence.expected_reports == pytest.approx(abuse_rate * 2000 * 300)


def test_a_campaign_filed_as_spam_is_still_classed_coordinated(
    engine: DetectionEngine, policy: Policy
) -> None:
    state = BroadcastState("b-1")
    reports = [
        make_report(f"new-{index}", at=T0 + 3.0 * index, category="spam", reporter=CAMPAIGN)
        for index in range(20)
    ]

    sent = observe_all(engine, state, reports)

    assert [e.event_action for e in sent] == [EventAction.TRIGGER]
    assert sent[0].escalation_class is EscalationClass.COORDINATED_REPORTING
    assert sent[0].labels.team == policy.coordination.team
    assert sent[0].labels.category is Category.SPAM
    evidence = sent[0].evidence
    assert [r.rule for r in evidence.rules] == ["coordinated_reporting"]
    assert evidence.distinct_reporters == 8, "the evidence is the spam window's"
    assert evidence.coordinated_share == 1.0
    spam_rate = policy.category(Category.SPAM).base_rate_per_viewer_second
    assert evidence.expected_reports == pytest.approx(spam_rate * 100 * 300)
    assert "(8 reports in spam in the window," in sent[0].summary
