"""The incident console in headless chromium, against the real broker and a real worker.

One worker and one console serve the module; each test uses its own broadcast.
Set SPIKEWATCH_SCREENSHOT_DIR=docs/images to refresh the documentation's
screenshots (otherwise they go to the test's temporary directory).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect

from models.acknowledgement import AckAction, Acknowledgement, Actor
from models.escalation_v2 import EscalationV2, parse_escalation
from models.verdict import Verdict, VerdictKind
from oncall.console.chart import line_chart
from tests.support.browser import chromium
from tests.support.console import CONSOLE, ConsoleProcess, console_env
from tests.support.incidents import escalation_v2
from tests.support.kafka import Record, read_until, send_all
from tests.support.live_worker import WorkerConfig, WorkerProcess, metric_value
from tests.support.reports import keyed, report

pytestmark = pytest.mark.kafka

Result = TypeVar("Result")

LIVE_WITHIN_MS = 30_000


def off_loop(work: Coroutine[Any, Any, Result]) -> Result:
    """Run Kafka helpers on a thread of their own: Playwright's sync API owns this thread's loop."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def worker(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    config = WorkerConfig(bootstrap=bootstrap, run_dir=tmp_path_factory.mktemp("worker"))
    process = WorkerProcess(config).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def console_environment(worker: WorkerProcess) -> dict[str, str]:
    return console_env(worker.config.env(), worker.config.name)


@pytest.fixture(scope="module")
def console(worker: WorkerProcess, console_environment: dict[str, str]) -> Iterator[ConsoleProcess]:
    process = ConsoleProcess(console_environment, worker.config.run_dir).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    directory = Path(os.environ.get("SPIKEWATCH_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / name), full_page=True)
    assert (directory / name).stat().st_size > 0


def escalations_for(config: WorkerConfig, broadcast_id: str) -> list[EscalationV2]:
    records = off_loop(
        read_until(
            config.bootstrap,
            None,
            pattern=f"^{config.oncall_prefix.replace('.', '[.]')}.*",
            done=lambda found: any(_of(r, broadcast_id) for r in found),
            within=30,
        )
    )
    return [e for e in (_of(r, broadcast_id) for r in records) if e is not None]


def _of(record: Record, broadcast_id: str) -> EscalationV2 | None:
    escalation = parse_escalation(record.value or b"")
    return escalation if escalation.labels.broadcast_id == broadcast_id else None


def read_topic(bootstrap: str, topic: str, dedup_key: str) -> list[bytes]:
    records = off_loop(
        read_until(
            bootstrap,
            [topic],
            done=lambda found: any(r.key == dedup_key.encode() for r in found),
            within=20,
        )
    )
    return [r.value or b"" for r in records if r.key == dedup_key.encode()]


def wait_for_metric(read: object, name: str, at_least: float, **labels: str) -> float:
    assert callable(read)
    deadline = time.monotonic() + 30
    value = 0.0
    while time.monotonic() < deadline:
        value = metric_value(read(), name, **labels)
        if value >= at_least:
            return value
        time.sleep(0.5)
    return value


def test_incident_arrives_live_is_explained_and_is_acted_on(
    worker: WorkerProcess,
    console: ConsoleProcess,
    page: Page,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    config = worker.config
    target = "console-live"
    page.goto(f"{console.url}/")
    expect(page.locator("#open-rows[data-streamed]")).to_have_count(1)
    page.evaluate("window.loadedOnce = true")

    surge = [report(target, "harassment", viewers=800) for _ in range(15)]
    off_loop(send_all(config.bootstrap, config.input_topic, [keyed(r) for r in surge]))
    sent_at = time.time()

    row = page.locator("tr.incident", has_text=target)
    expect(row).to_have_count(1, timeout=LIVE_WITHIN_MS)
    shown_at = time.time()
    assert page.evaluate("window.loadedOnce") is True, "the row came without a reload"
    expect(row).to_contain_text("hate-harassment")
    expect(row).to_contain_text("harassment")
    expect(row.locator("td").nth(7)).to_have_text("no")
    open_html = page.content()

    (trigger, *_) = escalations_for(config, target)
    # Measured, not asserted (no timing assertions in tests): see the junit XML.
    record_property("seconds_from_surge_to_row", round(shown_at - sent_at, 2))
    record_property(
        "seconds_from_trigger_to_row", round(shown_at - trigger.detected_at.timestamp(), 2)
    )
    page.locator("a", has_text=target).click()
    rules = page.locator("#rules tr.rule")
    expect(rules).to_have_count(len(trigger.evidence.rules))
    for rule in trigger.evidence.rules:
        expect(page.locator("#rules")).to_contain_text(rule.reason)
        for name in rule.figures:
            expect(page.locator("#rules")).to_contain_text(f"{name}=")
    if trigger.evidence.series:
        expect(page.locator("#chart polyline.observed")).to_have_count(1)
    else:
        expect(page.locator("#no-series")).to_have_count(1)
    incident_html = page.content()

    page.locator("#acknowledge").click()
    expect(page.locator("#acknowledged")).to_contain_text("yes", timeout=LIVE_WITHIN_MS)
    page.select_option("select[name=verdict]", VerdictKind.FALSE_ALARM.value)
    page.fill("textarea[name=note]", "popular stream, reports from its rival's fans")
    page.locator("#record-verdict").click()
    expect(page.locator("#verdict")).to_have_text("false_alarm", timeout=LIVE_WITHIN_MS)
    expect(page.locator("#timeline")).to_contain_text("verdict false_alarm")
    expect(page.locator("#state")).to_contain_text("rival's fans")

    for html in (open_html, incident_html, page.content()):
        assert not any(r["reporter_id"] in html for r in surge), "no reporter id on a page"

    key = trigger.dedup_key
    acks = [
        Acknowledgement.model_validate_json(v)
        for v in read_topic(config.bootstrap, config.ack_topic, key)
    ]
    assert [(a.action, a.actor, a.tool) for a in acks] == [
        (AckAction.ACKNOWLEDGED, Actor.HUMAN, "spikewatch-console")
    ]
    verdicts = [
        Verdict.model_validate_json(v)
        for v in read_topic(config.bootstrap, f"{config.name}.verdicts", key)
    ]
    assert [v.verdict for v in verdicts] == [VerdictKind.FALSE_ALARM]
    assert verdicts[0].actor.startswith("p-")
    assert verdicts[0].note == "popular stream, reports from its rival's fans"

    acknowledged = wait_for_metric(
        worker.metrics_text, "spikewatch_oncall_time_to_acknowledge_seconds_count", 1
    )
    assert acknowledged >= 1, "the worker's KPIs count the console's acknowledgement"
    labels = {"team": trigger.labels.team, "category": "harassment"}
    assert (
        wait_for_metric(
            console.metrics_text,
            "spikewatch_oncall_page_verdicts_total",
            1,
            verdict="false_alarm",
            **labels,
        )
        == 1
    )
    assert metric_value(console.metrics_text(), "spikewatch_oncall_pages_judged", **labels) == 1
    assert (
        metric_value(console.metrics_text(), "spikewatch_oncall_pages_confirmed_ratio", **labels)
        == 0
    )


def test_chart_is_drawn_from_the_escalation_series(
    worker: WorkerProcess, console: ConsoleProcess, page: Page, tmp_path: Path
) -> None:
    config = worker.config
    escalation = escalation_v2(
        f"console-chart-{time.time_ns()}", at=datetime.now(tz=UTC), team="t", broadcast_id="chart"
    )
    topic = f"{config.oncall_prefix}t"
    off_loop(
        send_all(
            config.bootstrap, topic, [(escalation.dedup_key.encode(), escalation.to_json_bytes())]
        )
    )

    page.goto(f"{console.url}/")
    row = page.locator("tr.incident", has_text="chart")
    expect(row).to_have_count(1, timeout=LIVE_WITHIN_MS)
    screenshot(page, "console-open.png", tmp_path)
    row.locator("a").click()
    assert escalation.evidence.series is not None
    expected = line_chart(escalation.evidence.series)
    assert expected is not None
    expect(page.locator("#chart polyline.observed")).to_have_attribute("points", expected.observed)
    expect(page.locator("#chart polyline.expected")).to_have_attribute("points", expected.expected)
    expect(page.locator("#coordinated")).to_have_text("10%")
    expect(page.locator("#categories")).to_contain_text("hateful_conduct")
    link = page.locator("#samples a", has_text="r-1")
    expect(link).to_have_attribute("href", "https://reports.example/r/r-1")
    expect(page.locator("#runbook")).to_have_attribute(
        "href", "https://runbooks.example/harassment"
    )
    screenshot(page, "console-incident.png", tmp_path)


def test_beyond_loopback_an_unauthenticated_action_is_refused(
    worker: WorkerProcess, console_environment: dict[str, str], browser: Browser, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("ana:correct-horse\n", encoding="utf-8")
    env = {**console_environment, "SPIKEWATCH_CONSOLE_TOKEN_FILE": str(tokens)}
    console = ConsoleProcess(env, tmp_path, host="127.0.0.2").start()
    try:
        anonymous = browser.new_context()
        response = anonymous.new_page().goto(f"{console.url}/")
        assert response is not None
        assert response.status == 401
        refused = anonymous.request.post(
            f"{console.url}/incident/any/acknowledge", form={"csrf": "x"}
        )
        assert refused.status == 401
        anonymous.close()

        signed_in = browser.new_context(
            extra_http_headers={"Authorization": "Bearer correct-horse"}
        )
        response = signed_in.new_page().goto(f"{console.url}/")
        assert response is not None
        assert response.status == 200
        signed_in.close()
        refused_total = metric_value(
            console.metrics_text(), "spikewatch_console_refused_total", status="401"
        )
        assert refused_total >= 2, "the page and the action (the browser may ask for more)"
    finally:
        console.stop()


def test_beyond_loopback_without_a_way_to_sign_in_it_will_not_start(
    console_environment: dict[str, str],
) -> None:
    env = {**console_environment, "SPIKEWATCH_CONSOLE_HOST": "127.0.0.2"}
    finished = subprocess.run(list(CONSOLE), env=env, capture_output=True, timeout=60, check=False)
    assert finished.returncode == 2
    assert finished.stderr.decode().strip().startswith("error: the console is bound to 127.0.0.2")
