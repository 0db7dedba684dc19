"""A real Prometheus scraping a real worker on the real broker, end to end.

One scenario drives everything (the last test stops the worker): a harassment
spike that on-call acknowledges and resolves through the acknowledgement topic,
a trusted flagger's child-safety report that nobody acknowledges (its test SLA
is 2 s) and that the quiet timer resolves, and a few malformed messages.
Prometheus (Debian's package, 127.0.0.1, 1 s scrape and evaluation) loads the
project's recording and alert rules with their ``for:`` durations removed, and
the tests assert through its HTTP API. The Grafana boards' queries run against
the same Prometheus afterwards, and its alerts go to a real Alertmanager with
the project's routing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from alerting.policy import DEFAULT_POLICY_PATH, load_policy
from models.escalation import EventAction
from models.escalation_v2 import EscalationV2, parse_escalation
from streams.console.metrics import ConsoleMetrics
from streams.notify.metrics import NotifyMetrics
from streams.replay.traffic import MALFORMED_SAMPLES
from tests.support.acks import acknowledgement
from tests.support.kafka import read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.monitoring import (
    ALERTMANAGER_CONFIG,
    GRAFANA_DIR,
    PROMETHEUS_DIR,
    AlertmanagerServer,
    PrometheusServer,
    exposed_names,
    get_json,
    metric_names,
    recording_rule_names,
    wait_for,
)
from tests.support.reports import TRUSTED_FLAGGER, keyed, report

pytestmark = pytest.mark.kafka

SPIKE = "prom-spike"
UNANSWERED = "prom-unanswered"


@dataclass
class Scenario:
    worker: WorkerProcess
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    triggers: dict[str, EscalationV2]


def fast_policy(path: Path) -> Path:
    """The default policy with a 2 s critical SLA and a 6 s quiet timer, so both happen;
    the window no longer than the quiet timer and lateness, as a policy must be."""
    policy = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    policy["lifecycle"]["resolve_after_quiet_seconds"] = 6
    policy["window"].update(allowed_lateness_seconds=1, length_seconds=7, bucket_seconds=1)
    policy["oncall"]["ack_sla_seconds"] = {"critical": 2, "error": 600}
    path.write_text(yaml.safe_dump(policy))
    return path


def rules_without_for(directory: Path) -> list[str]:
    """Test copies of the rule files whose alerts fire as soon as their expression holds."""
    directory.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        document = yaml.safe_load(source.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                rule.pop("for", None)
        copy = directory / source.name
        copy.write_text(yaml.safe_dump(document))
        copies.append(str(copy))
    return copies


def scrape_config(
    worker: WorkerProcess, rule_files: list[str], alertmanager: AlertmanagerServer
) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager.port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "spikewatch",
                "static_configs": [{"targets": [f"127.0.0.1:{worker.config.web_port}"]}],
            }
        ],
    }


def read_triggers(config: WorkerConfig, broadcasts: set[str]) -> dict[str, EscalationV2]:
    def triggers(records: list[Any]) -> dict[str, EscalationV2]:
        found = {}
        for record in records:
            escalation = parse_escalation(record.value)
            if escalation.event_action is EventAction.TRIGGER:
                found[escalation.labels.broadcast_id] = escalation
        return found

    records = asyncio.run(
        read_until(
            config.bootstrap,
            None,
            pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
            done=lambda records: broadcasts <= triggers(records).keys(),
            within=60,
        )
    )
    found = triggers(records)
    assert broadcasts <= found.keys(), f"triggers seen: {sorted(found)}"
    return found


@pytest.fixture(scope="module")
def scenario(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    run_dir = Path(tmp_path_factory.mktemp("prometheus-e2e"))
    config = WorkerConfig(
        bootstrap=bootstrap,
        run_dir=run_dir,
        extra_env={"SPIKEWATCH_POLICY_FILE": str(fast_policy(run_dir / "policy.yaml"))},
    )
    worker = WorkerProcess(config).start()
    prometheus = PrometheusServer(run_dir / "prometheus")
    alertmanager = AlertmanagerServer(run_dir / "alertmanager")
    try:
        alertmanager.start(ALERTMANAGER_CONFIG)
        rules = rules_without_for(run_dir / "rules")
        prometheus.start(scrape_config(worker, rules, alertmanager))
        wait_for(lambda: prometheus.value('up{job="spikewatch"}') == 1, 60, "the first scrape")
        spike = [report(SPIKE, "harassment", viewers=800) for _ in range(15)]
        flagged = report(UNANSWERED, "child_safety", reporter=dict(TRUSTED_FLAGGER))
        malformed = [(b"junk", sample) for sample in MALFORMED_SAMPLES]
        messages = [*(keyed(r) for r in spike), keyed(flagged), *malformed]
        asyncio.run(send_all(config.bootstrap, config.input_topic, messages))
        triggers = read_triggers(config, {SPIKE, UNANSWERED})
        wait_for(
            lambda: (
                metric_value(worker.metrics_text(), "spikewatch_oncall_incidents_incoming_total")
                == 2
            ),
            60,
            "the worker to read both pages back (on-call acknowledges what it was paged for)",
        )
        dedup_key = triggers[SPIKE].dedup_key
        acks = [acknowledgement(dedup_key), acknowledgement(dedup_key, "resolved")]
        asyncio.run(send_all(config.bootstrap, config.ack_topic, acks))
        yield Scenario(worker, prometheus, alertmanager, triggers)
    finally:
        prometheus.stop()
        alertmanager.stop()
        worker.stop()


def eventually(prometheus: PrometheusServer, promql: str, expected: float) -> None:
    """Wait until the query's value reaches ``expected`` (scrapes come every second)."""
    wait_for(lambda: prometheus.value(promql) >= expected, 60, f"{promql} >= {expected}")
    assert prometheus.value(promql) == expected, promql


def test_volume_escalation_and_latency_series_moved(scenario: Scenario) -> None:
    prometheus = scenario.prometheus
    eventually(
        prometheus,
        'sum(spikewatch_reports_received_total{category="harassment", outcome="accepted"})',
        15,
    )
    eventually(
        prometheus,
        'sum(spikewatch_reports_received_total{category="child_safety", outcome="accepted"})',
        1,
    )
    eventually(prometheus, "sum(spikewatch_dead_letters_total)", len(MALFORMED_SAMPLES))
    eventually(
        prometheus,
        'sum(spikewatch_escalations_total{action="trigger", team="hate-harassment"})',
        1,
    )
    eventually(
        prometheus,
        'sum(spikewatch_escalations_total{action="trigger", severity="critical"})',
        1,
    )
    eventually(prometheus, "sum(spikewatch_decision_latency_seconds_count)", 2)
    eventually(prometheus, "sum(spikewatch_ingest_to_escalation_seconds_count)", 2)
    p99 = wait_for(
        lambda: prometheus.value("spikewatch:decision_latency_seconds:p99_5m"),
        30,
        "the p99 recording rule",
    )
    assert 0 < p99 <= 60, "the recording rule computed a latency from the real histogram"
    version = load_policy().policy_version
    assert prometheus.value(f'spikewatch_policy_info{{policy_version="{version}"}}') == 1


def test_decision_latency_exemplars_carry_the_broadcast_id(scenario: Scenario) -> None:
    prometheus = scenario.prometheus
    now = time.time()

    def broadcast_ids() -> set[str]:
        series = prometheus.api(
            "query_exemplars",
            query="spikewatch_decision_latency_seconds_bucket",
            start=str(now - 600),
            end=str(time.time() + 5),
        )
        return {e["labels"].get("broadcast_id", "") for s in series for e in s["exemplars"]}

    found = wait_for(lambda: broadcast_ids() & {SPIKE, UNANSWERED}, 60, "exemplars")
    assert found <= {SPIKE, UNANSWERED}, "a bucket keeps its newest exemplar, ours"


def test_oncall_kpis_follow_acknowledgements_and_the_quiet_timer(scenario: Scenario) -> None:
    prometheus = scenario.prometheus
    eventually(prometheus, 'sum(spikewatch_oncall_incidents_incoming_total{review="manual"})', 2)
    eventually(prometheus, 'sum(spikewatch_oncall_incidents_solved_total{resolved_by="person"})', 1)
    eventually(
        prometheus,
        'sum(spikewatch_oncall_time_to_acknowledge_seconds_count{severity="error"})',
        1,
    )
    eventually(prometheus, "sum(spikewatch_oncall_handle_time_seconds_count)", 1)
    eventually(
        prometheus,
        'sum(spikewatch_oncall_sla_breaches_total{team="child-safety", severity="critical"})',
        1,
    )
    eventually(
        prometheus,
        'sum(spikewatch_oncall_incidents_solved_total{resolved_by="quiet_timer"})',
        1,
    )
    assert (
        prometheus.value('sum(spikewatch_acknowledgements_received_total{outcome="matched"})') == 2
    )


def test_the_sla_alert_fires_for_the_unacknowledged_page_and_the_worker_is_not_down(
    scenario: Scenario,
) -> None:
    prometheus = scenario.prometheus

    def firing() -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = prometheus.api("alerts")["alerts"]
        return [a for a in alerts if a["state"] == "firing"]

    def sla_alert() -> list[dict[str, Any]]:
        return [a for a in firing() if a["labels"]["alertname"] == "SpikewatchAckSLABreached"]

    (alert,) = wait_for(sla_alert, 60, "SpikewatchAckSLABreached firing")
    assert alert["labels"]["team"] == "child-safety"
    assert alert["labels"]["severity"] == "warning"
    names = {a["labels"]["alertname"] for a in firing()}
    assert not names & {"SpikewatchWorkerDown", "SpikewatchWorkerStuck", "SpikewatchIngestStalled"}


def dashboard_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in sorted((GRAFANA_DIR / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                queries.append((path.name, panel["title"], target["expr"]))
    return queries


def test_every_dashboard_query_runs_on_real_data_and_reads_only_exposed_metrics(
    scenario: Scenario,
) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 25
    console = generate_latest(ConsoleMetrics().registry).decode()  # the boards read both
    notify = generate_latest(NotifyMetrics(["alertmanager"], ["t"]).registry).decode()
    known = (
        exposed_names(scenario.worker.metrics_text())
        | exposed_names(console)
        | exposed_names(notify)
        | recording_rule_names()
    )
    misspelled = "spikewatch_reports_recieved_total"
    assert metric_names(f"rate({misspelled}[5m])") - known == {misspelled}, "the check bites"
    problems = []
    for board, title, expr in queries:
        unknown = metric_names(expr) - known
        if unknown:
            problems.append(f"{board} / {title}: unknown {sorted(unknown)}")
        try:
            scenario.prometheus.query(expr)
        except (AssertionError, OSError) as error:
            problems.append(f"{board} / {title}: query failed: {error}")
    assert not problems, "\n".join(problems)
    with_data = [expr for _, _, expr in queries if scenario.prometheus.query(expr)]
    assert len(with_data) >= len(queries) * 2 // 3, "most panels show the scenario's data"


def test_a_stopped_worker_fires_worker_down_into_alertmanager_last(scenario: Scenario) -> None:
    scenario.worker.stop()

    def alertmanager_alerts() -> dict[str, dict[str, Any]]:
        alerts = get_json(f"{scenario.alertmanager.url}/api/v2/alerts")
        return {a["labels"]["alertname"]: a for a in alerts}

    def worker_down() -> dict[str, Any] | None:
        return alertmanager_alerts().get("SpikewatchWorkerDown")

    alert = wait_for(worker_down, 60, "SpikewatchWorkerDown in Alertmanager")
    assert alert["labels"]["instance"] == f"127.0.0.1:{scenario.worker.config.web_port}"
    assert alert["labels"]["severity"] == "critical"
    assert [r["name"] for r in alert["receivers"]] == ["spikewatch-pager"]
    assert alert["status"]["state"] == "active", "nothing inhibits the cause"
    sla = alertmanager_alerts()["SpikewatchAckSLABreached"]
    assert [r["name"] for r in sla["receivers"]] == ["trust-safety-leads"]
