"""Prometheus and Alertmanager configuration, checked by the real tools.

``promtool`` and ``amtool`` validate the files and run the rule unit tests in
``deploy/prometheus/tests``; a real Alertmanager proves that causes inhibit
their symptoms. None of this needs Kafka.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from alerting.policy import load_policy
from streams.notify.metrics import NotifyMetrics
from streams.worker.metrics import WorkerMetrics
from tests.support.monitoring import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_DIR,
    AlertmanagerServer,
    exposed_names,
    get_json,
    metric_names,
    post_json,
    recording_rule_names,
    rule_expressions,
    run_tool,
    wait_for,
)

ALERT_RULES = PROMETHEUS_DIR / "rules" / "alerts.yml"


def declared_metric_names() -> set[str]:
    worker = WorkerMetrics(load_policy().teams).registry
    notify = NotifyMetrics(["pagerduty"], load_policy().teams).registry
    return exposed_names(generate_latest(worker).decode()) | exposed_names(
        generate_latest(notify).decode()
    )


def test_prometheus_config_and_rules_pass_promtool_check() -> None:
    config = run_tool("promtool", "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = run_tool("promtool", "check", "rules", *map(str, (PROMETHEUS_DIR / "rules").glob("*")))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS" in rules.stdout


def test_alert_rule_unit_tests_pass_under_promtool() -> None:
    tests = sorted(str(path) for path in (PROMETHEUS_DIR / "tests").glob("*.test.yml"))
    assert tests
    result = run_tool("promtool", "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_has_a_promtool_test() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = "".join(path.read_text() for path in (PROMETHEUS_DIR / "tests").glob("*.test.yml"))
    assert {
        "SpikewatchWorkerDown",
        "SpikewatchIngestStalled",
        "SpikewatchConsumerLagGrowing",
        "SpikewatchDeadLetterRateHigh",
        "SpikewatchEscalationRateFarAboveNormal",
        "SpikewatchAckSLABreached",
        "SpikewatchPagesNotDelivered",
    } <= alerts
    untested = {alert for alert in alerts if f"alertname: {alert}\n" not in tested}
    assert not untested


def test_rules_read_only_metrics_the_worker_declares() -> None:
    known = declared_metric_names() | recording_rule_names()
    unknown = {
        name: sorted(metric_names(expr) - known)
        for name, expr in rule_expressions().items()
        if metric_names(expr) - known
    }
    assert not unknown


def test_alertmanager_config_passes_amtool() -> None:
    result = run_tool("amtool", "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            {"alertname": "SpikewatchWorkerDown"},
            "spikewatch-pager",
        ),
        (
            {"alertname": "SpikewatchIngestStalled"},
            "spikewatch-pager",
        ),
        (
            {"alertname": "SpikewatchConsumerLagGrowing"},
            "spikewatch-tickets",
        ),
        (
            {"alertname": "SpikewatchDeadLetterRateHigh"},
            "spikewatch-tickets",
        ),
        (
            {"alertname": "SpikewatchEscalationRateFarAboveNormal"},
            "trust-safety-ops",
        ),
        (
            {"alertname": "SpikewatchAckSLABreached", "team": "violence"},
            "trust-safety-leads",
        ),
        (
            {"alertname": "SpikewatchEscalationsDecidedLate", "team": "child-safety"},
            "trust-safety-ops",
        ),
        (
            {"alertname": "SpikewatchPagesNotDelivered"},
            "spikewatch-pager",
        ),
        (
            {
                "alertname": "report_spike",
                "source": "spikewatch",
                "team": "child-safety",
                "severity": "critical",
            },
            "child-safety-oncall",
        ),
        (
            {
                "alertname": "critical_report",
                "source": "spikewatch",
                "team": "violent-extremism",
                "severity": "critical",
            },
            "violence-oncall",
        ),
        (
            {
                "alertname": "coordinated_reporting",
                "source": "spikewatch",
                "team": "integrity",
                "severity": "warning",
            },
            "integrity-desk",
        ),
        (
            {
                "alertname": "report_spike",
                "source": "spikewatch",
                "team": "hate-harassment",
                "severity": "error",
            },
            "abuse-oncall",
        ),
        (
            {
                "alertname": "report_spike",
                "source": "spikewatch",
                "team": "hate-harassment",
                "severity": "warning",
            },
            "abuse-review",
        ),
        (
            {
                "alertname": "critical_report",
                "source": "spikewatch",
                "team": "child-safety",
                "severity": "warning",
            },
            "child-safety-review",
        ),
        (
            {
                "alertname": "report_ramp",
                "source": "spikewatch",
                "team": "violence",
                "severity": "info",
            },
            "abuse-review",
        ),
    ],
)
def test_alerts_route_to_the_people_who_act_on_them(labels: dict[str, str], receiver: str) -> None:
    rule_labels = {
        rule["alert"]: rule.get("labels", {})
        for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    alert_labels = {**rule_labels.get(labels["alertname"], {}), **labels}
    result = run_tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        *(f"{key}={value}" for key, value in alert_labels.items()),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerServer]:
    server = AlertmanagerServer(tmp_path / "alertmanager").start(ALERTMANAGER_CONFIG)
    try:
        yield server
    finally:
        server.stop()


def test_a_down_worker_inhibits_its_own_symptoms_but_not_another_workers(
    alertmanager: AlertmanagerServer,
) -> None:
    starts = datetime.now(UTC) - timedelta(minutes=5)
    ends = starts + timedelta(hours=1)

    def alert(name: str, instance: str, severity: str) -> dict[str, object]:
        return {
            "labels": {
                "alertname": name,
                "instance": instance,
                "severity": severity,
                "team": "spikewatch-platform",
            },
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
        }

    post_json(
        f"{alertmanager.url}/api/v2/alerts",
        [
            alert("SpikewatchWorkerDown", "w1:6066", "critical"),
            alert("SpikewatchIngestStalled", "w1:6066", "critical"),
            alert("SpikewatchConsumerLagGrowing", "w1:6066", "warning"),
            alert("SpikewatchIngestStalled", "w2:6066", "critical"),
        ],
    )

    def settled_states() -> dict[tuple[str, str], list[str]] | None:
        """All four alerts, once the inhibitor has seen the source alert.

        Alertmanager stores an alert before its inhibitor goroutine has taken the
        source alert into its cache, so the first reads can show nothing inhibited."""
        found = {
            (a["labels"]["alertname"], a["labels"]["instance"]): a["status"]["inhibitedBy"]
            for a in get_json(f"{alertmanager.url}/api/v2/alerts")
        }
        if len(found) < 4 or not any(found.values()):
            return None
        return found

    inhibited = wait_for(settled_states, 30, "four alerts in Alertmanager, some inhibited")
    assert inhibited[("SpikewatchWorkerDown", "w1:6066")] == []
    assert inhibited[("SpikewatchIngestStalled", "w1:6066")]
    assert inhibited[("SpikewatchConsumerLagGrowing", "w1:6066")]
    assert inhibited[("SpikewatchIngestStalled", "w2:6066")] == []
