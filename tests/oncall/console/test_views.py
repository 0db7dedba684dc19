"""What the console's pages show: open list, SLA, history, daily summary, confirmed shares."""

from __future__ import annotations

from datetime import timedelta

from alerting.incidents import decided_too_late
from alerting.policy import LifecyclePolicy, OncallPolicy
from models.acknowledgement import AckAction
from models.escalation import EventAction, Severity
from models.report import Category
from models.verdict import VerdictKind
from oncall.console.chart import bar_chart, line_chart
from oncall.console.incidents import (
    IncidentRecord,
    fold_acknowledgement,
    fold_escalation,
    fold_verdict,
)
from oncall.console.views import (
    HistoryQuery,
    OpenFilter,
    confirmed_shares,
    daily_summary,
    filter_choices,
    forgettable,
    history,
    open_rows,
    sla_seconds_left,
)
from tests.support.incidents import T0, acknowledgement, escalation_v2, series, verdict

POLICY = OncallPolicy(ack_sla_seconds={Severity.CRITICAL: 300.0})


def incident(key: str, **labels: object) -> IncidentRecord:
    return fold_escalation(None, escalation_v2(key, **labels))  # type: ignore[arg-type]


def test_sla_counts_down_from_the_trigger_and_stops_at_the_acknowledgement() -> None:
    record = incident("a")
    assert sla_seconds_left(record, T0 + timedelta(seconds=60), POLICY) == 240.0
    assert sla_seconds_left(record, T0 + timedelta(seconds=400), POLICY) == -100.0
    fold_acknowledgement(record, acknowledgement("a"))
    assert sla_seconds_left(record, T0 + timedelta(seconds=400), POLICY) is None


def test_sla_and_time_to_acknowledge_count_from_the_update_that_raised_a_warning() -> None:
    record = incident("r", severity=Severity.WARNING)
    raised_at = T0 + timedelta(minutes=20)
    fold_escalation(
        record,
        escalation_v2(
            "r", EventAction.UPDATE, sequence=2, severity=Severity.CRITICAL, at=raised_at
        ),
    )
    assert record.paged_at == raised_at
    assert sla_seconds_left(record, raised_at + timedelta(seconds=60), POLICY) == 240.0
    fold_acknowledgement(record, acknowledgement("r", at=raised_at + timedelta(seconds=45)))
    [today] = daily_summary([record], raised_at, days=1)
    assert (today.pages, today.median_seconds_to_acknowledge) == (1, 45.0)


def test_an_open_row_says_when_its_incident_was_decided_too_late_to_page() -> None:
    held = incident("late", severity=Severity.WARNING)
    assert held.evidence is not None
    held.evidence = held.evidence.model_copy(
        update={"rules": [decided_too_late(1200.0, LifecyclePolicy()), *held.evidence.rules]}
    )
    rows = open_rows([held, incident("live")], T0, POLICY, OpenFilter())
    assert {row.dedup_key: row.decided_late for row in rows} == {"late": True, "live": False}


def test_severity_without_an_sla_has_none() -> None:
    assert sla_seconds_left(incident("w", severity=Severity.WARNING), T0, POLICY) is None


def test_open_list_filters_and_puts_the_most_severe_first() -> None:
    records = [
        incident("warn", severity=Severity.WARNING, team="a", region="eu"),
        incident("crit", severity=Severity.CRITICAL, team="b", region="us"),
        incident("err", severity=Severity.ERROR, team="a", region="us"),
    ]
    now = T0 + timedelta(seconds=30)
    assert [row.dedup_key for row in open_rows(records, now, POLICY, OpenFilter())] == [
        "crit",
        "err",
        "warn",
    ]
    assert [r.dedup_key for r in open_rows(records, now, POLICY, OpenFilter(team="a"))] == [
        "err",
        "warn",
    ]
    only_us_errors = OpenFilter(region="us", severity=Severity.ERROR)
    assert [r.dedup_key for r in open_rows(records, now, POLICY, only_us_errors)] == ["err"]
    assert filter_choices(records) == (["a", "b"], ["eu", "us"])


def test_open_row_carries_reports_expected_and_age() -> None:
    (row,) = open_rows([incident("a")], T0 + timedelta(seconds=42), POLICY, OpenFilter())
    assert (row.reports, row.expected_reports, row.age_seconds) == (15, 1.25, 42.0)
    assert row.sla_seconds_left == 258.0
    assert not row.acknowledged


def resolved(key: str, **labels: object) -> IncidentRecord:
    record = incident(key, **labels)
    end = escalation_v2(
        key,
        EventAction.RESOLVE,
        sequence=2,
        at=T0 + timedelta(minutes=10),
        **labels,  # type: ignore[arg-type]
    )
    return fold_escalation(record, end)


def test_history_searches_resolved_incidents_only() -> None:
    records = [resolved("old", broadcast_id="x"), resolved("other", broadcast_id="y")]
    records.append(incident("open", broadcast_id="x"))
    assert [r.dedup_key for r in history(records, HistoryQuery(broadcast_id="x"))] == ["old"]
    assert len(history(records, HistoryQuery(day=T0.date()))) == 2
    assert history(records, HistoryQuery(day=T0.date() - timedelta(days=1))) == []
    assert history(records, HistoryQuery(category=Category.SPAM)) == []
    assert len(history(records, HistoryQuery(broadcaster_id="caster-1", team="trust-safety"))) == 2


def test_daily_summary_counts_pages_verdicts_and_time_to_acknowledge() -> None:
    confirmed = fold_verdict(incident("a"), verdict("a", VerdictKind.CONFIRMED))
    fold_acknowledgement(confirmed, acknowledgement("a", at=T0 + timedelta(seconds=60)))
    false_alarm = fold_verdict(incident("b"), verdict("b", VerdictKind.FALSE_ALARM))
    fold_acknowledgement(false_alarm, acknowledgement("b", at=T0 + timedelta(seconds=180)))
    warning = incident("c", severity=Severity.WARNING)
    days = daily_summary([confirmed, false_alarm, warning], T0 + timedelta(days=1), days=3)
    assert [day.pages for day in days] == [0, 2, 0]
    today = days[1]
    assert (today.judged, today.confirmed, today.confirmed_share) == (2, 1, 0.5)
    assert today.median_seconds_to_acknowledge == 120.0
    assert days[0].confirmed_share is None


def test_confirmed_share_per_team_and_category_counts_judged_pages_in_the_horizon() -> None:
    a = fold_verdict(incident("a", team="t1"), verdict("a", VerdictKind.CONFIRMED))
    b = fold_verdict(incident("b", team="t1"), verdict("b", VerdictKind.FALSE_ALARM))
    c = fold_verdict(incident("c", team="t2"), verdict("c", VerdictKind.CONFIRMED))
    unjudged = incident("d", team="t2")
    now = T0 + timedelta(hours=1)
    shares = confirmed_shares([a, b, c, unjudged], now, timedelta(days=1))
    assert [(s.team, s.judged, s.confirmed, s.share) for s in shares] == [
        ("t1", 2, 1, 0.5),
        ("t2", 1, 1, 1.0),
    ]
    assert confirmed_shares([a, b, c], now + timedelta(days=2), timedelta(days=1)) == []


def test_resolved_records_are_forgotten_after_the_keep_period() -> None:
    record = resolved("a")
    keep = timedelta(days=30)
    assert not forgettable(record, T0 + timedelta(days=29), keep)
    assert forgettable(record, T0 + timedelta(days=31), keep)
    assert not forgettable(incident("open"), T0 + timedelta(days=365), keep)
    orphan = fold_acknowledgement(None, acknowledgement("x", AckAction.RESOLVED))
    assert forgettable(orphan, T0 + timedelta(days=31), keep)


def test_line_chart_scales_to_the_highest_value_and_needs_two_points() -> None:
    points = series(buckets=4)
    chart = line_chart(points, width=100, height=100, margin=0)
    assert chart is not None
    assert chart.top == 4.0
    assert chart.observed == "0.0,87.5 33.3,87.5 66.7,50.0 100.0,0.0"
    assert chart.expected.split()[0] == "0.0,87.5"
    assert line_chart(points[:1]) is None


def test_bar_chart_leaves_missing_values_empty() -> None:
    bars = bar_chart([("mon", 2.0), ("tue", None), ("wed", 4.0)], width=300, height=120)
    assert [bar.height for bar in bars] == [50.0, 0.0, 100.0]
    assert [bar.value for bar in bars] == ["2", "n/a", "4"]
