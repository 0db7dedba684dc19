"""``spikewatch calibrate --topic`` on the real broker: a topic is read a partition at a
time, yet it calibrates as the same log read from a file, and only the chosen span."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from alerting.policy import load_policy
from models.report import Category
from streams.cli import main
from streams.settings import Settings
from streams.tools.produce import produce_scenario
from tests.support.kafka import send_all
from tests.support.reports import ORDINARY_VIEWER, keyed, report

pytestmark = pytest.mark.kafka


def test_a_topic_calibrates_as_its_log_and_from_time_reads_only_what_followed(
    bootstrap: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = f"calibrate-{time.time_ns()}"
    settings = Settings(kafka_bootstrap=bootstrap, input_topic=topic)
    log = tmp_path / "busy.jsonl"
    assert produce_scenario(settings, "busy_platform", seed=3, out=str(log)) == 0
    assert produce_scenario(settings, "busy_platform", seed=3, out=None) == 0
    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", bootstrap)
    from_file, from_topic = tmp_path / "file.yaml", tmp_path / "topic.yaml"
    assert main(["calibrate", str(log), "--output", str(from_file)]) == 0
    assert main(["calibrate", "--topic", topic, "--output", str(from_topic)]) == 0
    file_policy, topic_policy = load_policy(from_file), load_policy(from_topic)
    for category in Category:
        rate = topic_policy.category(category).base_rate_per_viewer_second
        expected = file_policy.category(category).base_rate_per_viewer_second
        assert rate == pytest.approx(expected, rel=0.02), category.value
    assert topic_policy.learning.weight_dispersion == file_policy.learning.weight_dispersion

    time.sleep(1.0)
    since = time.time()
    time.sleep(0.2)
    later = [
        report("calibrate-later", "spam", viewers=2_000, reporter=dict(ORDINARY_VIEWER))
        for _ in range(5)
    ]
    asyncio.run(send_all(bootstrap, topic, [keyed(r) for r in later]))
    capsys.readouterr()
    moment = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since)) + f".{int(since % 1 * 1000):03d}Z"
    )
    assert main(["calibrate", "--topic", topic, "--from-time", moment, "--output", "-"]) == 0
    told = capsys.readouterr().err.splitlines()
    assert told[0] == "calibrated from 5 reports on 1 broadcasts"
