"""Logs are JSON lines and never carry reporter personal data."""

from __future__ import annotations

import json

import pytest

from streams.logs import configure_logging, get_logger


def test_log_lines_are_json_with_context_and_personal_fields_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info")
    get_logger("test").info(
        "escalation_decided", broadcast_id="b1", reporter_id="alice", comment="my phone is ..."
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "escalation_decided"
    assert record["broadcast_id"] == "b1"
    assert "alice" not in line
    assert "phone" not in line


def test_library_logs_are_rendered_as_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    configure_logging("info")
    logging.getLogger("faust.worker").warning("plain %s", "message")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["event"] == "plain message"
    assert record["logger"] == "faust.worker"
