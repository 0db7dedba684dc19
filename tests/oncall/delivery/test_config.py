"""The sinks file: validated, secrets only by reference, one-line errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from oncall.delivery.config import AlertmanagerSink, PagerDutySink, SinksError, load_sinks

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "deploy" / "notify" / "sinks.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sinks.yaml"
    path.write_text(text)
    return path


def test_the_shipped_example_loads_with_its_secrets_provided(tmp_path: Path) -> None:
    example = EXAMPLE.read_text()
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    for name in (
        "/run/secrets/pagerduty-violence",
        "/run/secrets/servicecloud-authorization",
        "/run/secrets/pagerduty-webhook-secret",
    ):
        example = example.replace(name, str(secret))
    (tmp_path / "templates").symlink_to(EXAMPLE.parent / "templates")
    environ = {
        "SPIKEWATCH_PD_CHILD_SAFETY_KEY": "k" * 32,
        "SPIKEWATCH_SLACK_VIOLENCE_WEBHOOK": "https://hooks.example/T/B/x",
        "SPIKEWATCH_JIRA_WEBHOOK_TOKEN": "token",
        "SPIKEWATCH_ALERTMANAGER_WEBHOOK_TOKEN": "am-token",
    }
    config = load_sinks(write(tmp_path, example), environ)
    assert [sink.name for sink in config.sinks] == [
        "alertmanager",
        "pagerduty",
        "slack",
        "jira",
        "servicecloud",
    ]
    pagerduty = config.sink("pagerduty")
    assert isinstance(pagerduty, PagerDutySink)
    assert pagerduty.routes["violence"].routing_key.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t" not in repr(config)
    assert config.acks.pagerduty_signing_secret is not None
    assert isinstance(config.sink("alertmanager"), AlertmanagerSink)
    assert config.sink("alertmanager").delivers_to("anyone")
    assert not pagerduty.delivers_to("wellbeing")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "sinks: [{name: pd, type: pagerduty, routes: {t: {routing_key: abc}}}]",
            "sinks.0.pagerduty.routes.t: routing_key: secrets are not written in the file",
        ),
        (
            "sinks: [{name: pd, type: pagerduty, routes: {t: {routing_key_env: NOPE}}}]",
            "sinks.0.pagerduty.routes.t: routing_key_env: environment variable NOPE is not set",
        ),
        (
            "sinks: [{name: pd, type: pagerduty, routes: {t: {}}}]",
            "routing_key_file or routing_key_env is required",
        ),
        (
            "sinks: [{name: am, type: alertmanager, url: 'http://x', "
            "open_alert_horizon_seconds: 600, repost_interval_seconds: 400}]",
            "repost_interval_seconds must be at most half of open_alert_horizon_seconds",
        ),
        (
            "sinks: [{name: Bad Name, type: alertmanager, url: 'http://x'}]",
            "sinks.0.alertmanager.name",
        ),
        ("sinks: [{name: x, type: carrier-pigeon}]", "sinks.0: Input tag 'carrier-pigeon'"),
        (
            "sinks: [{name: a, type: alertmanager, url: 'http://x'}, "
            "{name: a, type: alertmanager, url: 'http://y'}]",
            "sink names must be unique: a",
        ),
        (
            "incident_url_template: 'https://x/{reporter}'\n"
            "sinks: [{name: a, type: alertmanager, url: 'http://x'}]",
            "unknown placeholder {reporter}",
        ),
        (
            "sinks: [{name: t, type: template, url: 'https://x', template_file: missing.j2}]",
            "sinks.0.template: template_file",
        ),
    ],
)
def test_a_bad_sinks_file_fails_in_one_line_naming_the_field(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, "version: 1\n" + body + "\n")
    with pytest.raises(SinksError) as raised:
        load_sinks(path, environ={})
    text = str(raised.value)
    assert message in text
    assert "\n" not in text
    assert "abc" not in text


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SinksError, match="No such file"):
        load_sinks(tmp_path / "absent.yaml")
    with pytest.raises(SinksError, match="not valid YAML"):
        load_sinks(write(tmp_path, "sinks: [unclosed"))


def test_the_documented_example_is_the_shipped_one() -> None:
    page = (REPO / "docs" / "notify.md").read_text()
    documented = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(documented) == yaml.safe_load(EXAMPLE.read_text())
