"""Settings come from SPIKEWATCH_* variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKEWATCH_INPUT_TOPIC", "reports-eu")
    monkeypatch.setenv("SPIKEWATCH_KAFKA_BOOTSTRAP", "10.0.0.1:9092, 10.0.0.2:9092")
    settings = Settings()
    assert settings.resolved_dead_letter_topic == "reports-eu.dlq"
    assert settings.faust_broker == "kafka://10.0.0.1:9092;kafka://10.0.0.2:9092"
    assert settings.oncall_topic("child-safety") == "oncall.child-safety"


def test_defaults_bind_loopback_only() -> None:
    assert Settings().web_host == "127.0.0.1"


def test_invalid_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKEWATCH_WEB_PORT", "70000")
    with pytest.raises(ValidationError, match="web_port"):
        Settings()


def test_the_largest_input_can_always_be_republished() -> None:
    """A mis-keyed report is re-published whole: the input limit must leave room for it."""
    limit = Settings().producer_max_request_bytes
    Settings(max_message_bytes=limit - 1024)
    with pytest.raises(ValidationError, match="re-publish"):
        Settings(max_message_bytes=limit)
