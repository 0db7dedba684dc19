"""The sinks file of ``spikewatch notify``: where each team's escalations are delivered.

Validated like the policy file: a mistake stops the service at start with one
line naming the field. Secrets (routing keys, webhook URLs, tokens, signing
secrets) are never written in the file itself: every secret field is a pair
``<name>_file`` (a mounted secret, read at load) or ``<name>_env`` (an
environment variable), exactly one of them, and a secret written inline is
refused with the line that says where to put it. Resolved secrets are held as
``SecretStr``, so neither a repr nor a log line can show them.
"""

from __future__ import annotations

import os
import string
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from models.errors import SpikewatchError, first_problem
from models.escalation import Severity

SinkName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
"""Names a consumer group and a metric label, so it stays short and plain."""
TeamName = Annotated[str, Field(min_length=1, max_length=64)]
PositiveSeconds = Annotated[float, Field(gt=0)]
INCIDENT_URL_FIELDS = frozenset({"dedup_key", "broadcast_id", "team"})
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class SinksError(SpikewatchError):
    """A sinks file that cannot be used; the message is one line naming the field."""

    remedy = "fix the sinks file and retry"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _secret(
    owner: BaseModel, name: str, info: ValidationInfo, *, required: bool
) -> SecretStr | None:
    """Read the secret ``name`` from its ``<name>_file`` or ``<name>_env`` field."""
    path: Path | None = getattr(owner, f"{name}_file")
    variable: str | None = getattr(owner, f"{name}_env")
    if path is not None and variable is not None:
        raise ValueError(f"set one of {name}_file and {name}_env, not both")
    if path is None and variable is None:
        if required:
            raise ValueError(f"{name}_file or {name}_env is required")
        return None
    if path is not None:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"{name}_file {path}: {error.strerror}") from None
        if not value:
            raise ValueError(f"{name}_file {path} is empty")
        return SecretStr(value)
    environ: Mapping[str, str] = (info.context or {}).get("environ", os.environ)
    value = environ.get(str(variable), "").strip()
    if not value:
        raise ValueError(f"{name}_env: environment variable {variable} is not set")
    return SecretStr(value)


def _refuse_inline(data: Any, *names: str) -> Any:
    if isinstance(data, dict):
        for name in names:
            if name in data:
                raise ValueError(
                    f"{name}: secrets are not written in the file; "
                    f"use {name}_file (a mounted secret) or {name}_env"
                )
    return data


class _WithSecrets(_Strict):
    """A model whose ``secret_names`` are read from ``<name>_file`` or ``<name>_env`` fields."""

    secret_names: ClassVar[tuple[str, ...]] = ()
    required_secrets: ClassVar[frozenset[str]] = frozenset()
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        return _refuse_inline(data, *cls.secret_names)

    @model_validator(mode="after")
    def _read_secrets(self, info: ValidationInfo) -> Self:
        for name in self.secret_names:
            value = _secret(self, name, info, required=name in self.required_secrets)
            if value is not None:
                self._secrets[name] = value
        return self

    def secret(self, name: str) -> SecretStr | None:
        return self._secrets.get(name)

    def required_secret(self, name: str) -> SecretStr:
        return self._secrets[name]


class RetryConfig(_Strict):
    """Exponential backoff with full jitter; a sink that answers 5xx, 429 or nothing."""

    initial_backoff_seconds: PositiveSeconds = 0.5
    max_backoff_seconds: PositiveSeconds = 60.0
    multiplier: Annotated[float, Field(ge=1)] = 2.0
    request_timeout_seconds: PositiveSeconds = 10.0
    down_after_failures: Annotated[int, Field(ge=1)] = Field(
        default=3, description="Consecutive failed attempts before the sink counts as down."
    )

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError("max_backoff_seconds must be at least initial_backoff_seconds")
        return self


class _Sink(_Strict):
    name: SinkName
    min_severity: Severity = Field(
        default=Severity.INFO, description="Events below this severity are not delivered."
    )
    retry: RetryConfig = RetryConfig()
    max_in_flight: Annotated[int, Field(ge=1, le=256)] = Field(
        default=16, description="Incidents delivered at once; one incident's events never overlap."
    )

    def delivers_to(self, team: str) -> bool:
        named = self.named_teams
        return named is None or team in named

    @property
    def named_teams(self) -> Collection[str] | None:
        """The teams the file names for this sink; None when it serves every team."""
        raise NotImplementedError


class _TeamList(_Sink):
    teams: list[TeamName] | None = Field(default=None, description="Omitted: every team.")

    @property
    def named_teams(self) -> Collection[str] | None:
        return self.teams


class AlertmanagerSink(_TeamList, _WithSecrets):
    """Alertmanager API v2: one alert per incident, kept firing until the resolve."""

    type: Literal["alertmanager"]
    url: Annotated[str, Field(pattern=r"^https?://")] = Field(
        description="Alertmanager's base URL; alerts go to <url>/api/v2/alerts."
    )
    open_alert_horizon_seconds: Annotated[float, Field(ge=60)] = Field(
        default=3600.0, description="endsAt of an open incident's alert is this far ahead."
    )
    repost_interval_seconds: Annotated[float, Field(ge=1)] = Field(
        default=300.0, description="How often open alerts are posted again with a fresh endsAt."
    )
    bearer_token_file: Path | None = None
    bearer_token_env: str | None = None
    secret_names = ("bearer_token",)

    @model_validator(mode="after")
    def _check(self) -> AlertmanagerSink:
        if self.repost_interval_seconds * 2 > self.open_alert_horizon_seconds:
            raise ValueError(
                "repost_interval_seconds must be at most half of open_alert_horizon_seconds, "
                "or Alertmanager resolves open alerts by itself"
            )
        return self

    @property
    def bearer_token(self) -> SecretStr | None:
        return self.secret("bearer_token")


class PagerDutyRoute(_WithSecrets):
    routing_key_file: Path | None = None
    routing_key_env: str | None = None
    secret_names = ("routing_key",)
    required_secrets = frozenset(secret_names)

    @property
    def routing_key(self) -> SecretStr:
        return self.required_secret("routing_key")


class PagerDutySink(_Sink):
    """PagerDuty Events API v2; ``routes`` names the teams it pages and their services."""

    type: Literal["pagerduty"]
    url: Annotated[str, Field(pattern=r"^https?://")] = Field(
        default=PAGERDUTY_EVENTS_URL,
        description="events.eu.pagerduty.com for the EU service region, or a proxy.",
    )
    routes: dict[TeamName, PagerDutyRoute] = Field(min_length=1)
    min_severity: Severity = Field(
        default=Severity.ERROR,
        description="Events below this severity are not delivered. A pager pages for the "
        "severities that page a person unless told otherwise: sent a warning, PagerDuty "
        "opens an incident all the same (low urgency at most), and a backlog's incidents "
        "held back as decided too late to page would reach on-call after all.",
    )

    @property
    def named_teams(self) -> Collection[str]:
        return self.routes.keys()


class SlackRoute(_WithSecrets):
    webhook_url_file: Path | None = None
    webhook_url_env: str | None = None
    secret_names = ("webhook_url",)
    required_secrets = frozenset(secret_names)

    @property
    def webhook_url(self) -> SecretStr:
        return self.required_secret("webhook_url")


class SlackSink(_Sink):
    """Slack-compatible incoming webhooks (the URL is the credential), one per team."""

    type: Literal["slack"]
    routes: dict[TeamName, SlackRoute] = Field(min_length=1)

    @property
    def named_teams(self) -> Collection[str]:
        return self.routes.keys()


class Header(_WithSecrets):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    value_file: Path | None = None
    value_env: str | None = None
    secret_names = ("value",)
    required_secrets = frozenset(secret_names)

    @property
    def value(self) -> SecretStr:
        return self.required_secret("value")


class TemplateSink(_TeamList):
    """A case tool's webhook: URL and body rendered per event from sandboxed Jinja2 templates.

    The URL is a template too, so a tool that upserts by an external id
    (Service Cloud's ``PATCH .../Case/<field>/<dedup_key>``) gets one case per incident.
    """

    type: Literal["template"]
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2048)]
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    template_file: Path = Field(description="Request body template; relative to this file.")
    content_type: str = "application/json"
    headers: list[Header] = Field(default_factory=list, max_length=16)
    _template_text: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _read(self, info: ValidationInfo) -> TemplateSink:
        base: Path = (info.context or {}).get("base_dir", Path("."))
        path = self.template_file if self.template_file.is_absolute() else base / self.template_file
        try:
            self._template_text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"template_file {path}: {error.strerror}") from None
        return self

    @property
    def template_text(self) -> str:
        return self._template_text


Sink = Annotated[
    AlertmanagerSink | PagerDutySink | SlackSink | TemplateSink, Field(discriminator="type")
]


class AckConfig(_WithSecrets):
    """Who may write acknowledgements through the endpoint."""

    pagerduty_signing_secret_file: Path | None = None
    pagerduty_signing_secret_env: str | None = None
    alertmanager_bearer_token_file: Path | None = None
    alertmanager_bearer_token_env: str | None = None
    secret_names = ("pagerduty_signing_secret", "alertmanager_bearer_token")

    @property
    def pagerduty_signing_secret(self) -> SecretStr | None:
        """Without one, the PagerDuty endpoint refuses every request: nothing unsigned gets in."""
        return self.secret("pagerduty_signing_secret")

    @property
    def alertmanager_bearer_token(self) -> SecretStr | None:
        return self.secret("alertmanager_bearer_token")


class NotifyConfig(_Strict):
    version: Literal[1]
    incident_url_template: str | None = Field(
        default=None,
        description="Link to an incident, with {dedup_key}, {broadcast_id} and {team} "
        "(URL-quoted when filled in).",
    )
    sinks: list[Sink] = Field(min_length=1, max_length=32)
    acks: AckConfig = AckConfig()

    @model_validator(mode="after")
    def _check(self) -> NotifyConfig:
        names = [sink.name for sink in self.sinks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"sink names must be unique: {', '.join(duplicates)}")
        if self.incident_url_template is not None:
            fields = {
                field for _, field, _, _ in string.Formatter().parse(self.incident_url_template)
            }
            unknown = sorted(str(field) for field in fields - INCIDENT_URL_FIELDS - {None})
            if unknown:
                raise ValueError(
                    f"incident_url_template: unknown placeholder {{{unknown[0]}}}; "
                    f"use {', '.join('{' + name + '}' for name in sorted(INCIDENT_URL_FIELDS))}"
                )
        return self

    def sink(self, name: str) -> AlertmanagerSink | PagerDutySink | SlackSink | TemplateSink:
        return next(sink for sink in self.sinks if sink.name == name)


def load_sinks(path: Path | str, environ: Mapping[str, str] | None = None) -> NotifyConfig:
    """Read and validate a sinks file and the secrets it names; one clear line on failure."""
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise SinksError(f"sinks file {source}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise SinksError(f"sinks file {source}: not UTF-8 text (byte {error.start})") from error
    except yaml.YAMLError as error:
        line = str(error).strip().splitlines()[0]
        raise SinksError(f"sinks file {source}: not valid YAML ({line})") from error
    context = {"environ": os.environ if environ is None else environ, "base_dir": source.parent}
    try:
        return NotifyConfig.model_validate(raw, context=context)
    except ValidationError as error:
        problem = first_problem(error)
        field = problem.dotted or "(top level)"
        message = problem.message.removeprefix("Value error, ")
        raise SinksError(f"sinks file {source}: {field}: {message}") from error
