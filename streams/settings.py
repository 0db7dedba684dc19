"""One settings object for the whole worker, read from ``SPIKEWATCH_*`` variables.

Detection thresholds are *not* here: they are policy, in the policy file named by
``SPIKEWATCH_POLICY_FILE`` (see :mod:`alerting.policy`). This object holds only
how the process connects and runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerting.policy import DEFAULT_POLICY_PATH
from models.bounds import (
    DEFAULT_PRODUCER_MAX_REQUEST_BYTES,
    MIN_RECORD_LIMIT_BYTES,
    record_size,
)
from models.errors import SpikewatchError, first_problem
from models.report import MAX_ID_LENGTH

MAX_ID_BYTES = 4 * MAX_ID_LENGTH
"""A broadcast id (a report's key) in UTF-8 at its longest."""


class SettingsError(SpikewatchError):
    """An environment variable that does not validate; named, never its value (a secret?)."""

    remedy = "fix the environment and retry"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPIKEWATCH_", extra="ignore", frozen=True)

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Comma-separated host:port list of Kafka brokers."
    )
    app_id: str = Field(
        default="spikewatch",
        description="Consumer group and prefix of internal topics; workers sharing it share work.",
    )
    input_topic: str = "broadcast-reports"
    dead_letter_topic: str | None = Field(
        default=None, description="Defaults to '<input_topic>.dlq'."
    )
    oncall_topic_prefix: str = "oncall."
    ack_topic: str = Field(
        default="oncall-acks",
        description="Acknowledgement v1 from on-call tools; outside the on-call prefix on "
        "purpose, so followers of the escalation topics never see it.",
    )
    ack_dead_letter_topic: str | None = Field(
        default=None, description="Defaults to '<ack_topic>.dlq'."
    )
    escalation_dead_letter_topic: str = Field(
        default="spikewatch.escalations.dlq",
        description="Escalations an on-call topic refused for good (DeadLetter v1 holding the "
        "escalation); outside the on-call prefix, so followers of escalations never read one.",
    )
    producer_max_request_bytes: Annotated[int, Field(ge=MIN_RECORD_LIMIT_BYTES)] = Field(
        default=DEFAULT_PRODUCER_MAX_REQUEST_BYTES,
        description="Largest record the worker's producer sends; records are sized to fit it "
        "and each topic's max.message.bytes.",
    )
    stall_seconds: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="/healthz fails when no batch or tick has completed for this long while "
        "input waits.",
    )
    crash_exit_seconds: Annotated[float, Field(gt=0)] = Field(
        default=5.0,
        description="A crashed worker that has not exited by then is ended with status 70.",
    )
    topic_partitions: Annotated[int, Field(ge=1)] = 4
    topic_replication_factor: Annotated[int, Field(ge=1)] = 1
    policy_file: Path = DEFAULT_POLICY_PATH
    shadow_policy_file: Path | None = Field(
        default=None, description="Candidate policy run in shadow mode beside the active one."
    )
    shadow_topic: str = Field(
        default="spikewatch.shadow",
        description="Where shadow escalations go; outside the on-call prefix, pages nobody.",
    )
    web_host: str = Field(default="127.0.0.1", description="Bind address of /metrics, /healthz.")
    web_port: Annotated[int, Field(ge=1, le=65535)] = 6066
    data_dir: Path = Path(".run/worker")
    store: str = "memory://"
    max_message_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    max_future_skew_seconds: Annotated[float, Field(ge=0)] = 300.0
    batch_max_messages: Annotated[int, Field(ge=1)] = 2000
    tick_interval_seconds: Annotated[float, Field(gt=0)] = 1.0
    state_write_interval_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=1.0,
        description="Longest a decided state waits before its write to the changelog "
        "starts (the write is then spread over the next fetches): a broadcast reported "
        "many times meanwhile is encoded once. A crash decides up to this much input, and "
        "the write's own time, again (streams.worker.batch).",
    )
    commit_interval_seconds: Annotated[float, Field(gt=0)] = 2.8
    fetch_max_bytes_per_partition: Annotated[int, Field(ge=64 * 1024)] = Field(
        default=4 * 1024 * 1024,
        description="Most report bytes one fetch takes from a partition: a worker behind a "
        "backlog decides a fetch at a time, so bigger fetches mean fewer rounds per report.",
    )
    fetch_max_wait_seconds: Annotated[float, Field(gt=0, le=1.5)] = Field(
        default=0.1,
        description="How long the broker may hold a fetch that finds nothing; the next "
        "fetch of reports waits behind it (see streams.kafka.ingest.BatchingConsumerThread).",
    )
    gc_freeze_survivors: bool = Field(
        default=True,
        description="Freeze what survives each collection of the middle generation or a "
        "full one, so later ones walk only newer objects (see streams.worker.gc_pauses).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = Field(
        default=None, description="Prefer kafka_password_file (a mounted secret)."
    )
    kafka_password_file: FilePath | None = None
    kafka_ca_file: FilePath | None = Field(
        default=None, description="PEM CA bundle for TLS; the system's trust store if unset."
    )
    kafka_session_timeout_seconds: Annotated[float, Field(ge=10, le=300)] = 30.0
    table_standby_replicas: Annotated[int, Field(ge=0)] = 0
    verdict_topic: str = Field(
        default="oncall-verdicts", description="Verdict v1: what people decided an incident was."
    )
    console_host: str = Field(
        default="127.0.0.1",
        description="Bind address of the console; any other needs a console token or proxy header.",
    )
    console_port: Annotated[int, Field(ge=1, le=65535)] = 8086
    console_store_topic: str | None = Field(
        default=None, description="Compacted topic of the console's incidents; '<app_id>-console'."
    )
    console_token: SecretStr | None = Field(default=None, description="Prefer console_token_file.")
    console_token_file: FilePath | None = Field(
        default=None, description="Bearer tokens, one 'login:token' per line."
    )
    console_proxy_user_header: str | None = Field(
        default=None, description="Header a trusted reverse proxy sets to the signed-in login."
    )
    console_pseudonym_key_file: FilePath | None = Field(
        default=None, description="Key of the actors' pseudonymous ids (default: the app id)."
    )
    console_report_url_template: str | None = Field(
        default=None, pattern=r"\{report_id\}", description="Link of a sample report id."
    )
    console_history_days: Annotated[int, Field(ge=1, le=400)] = 30
    notify_sinks_file: Path | None = Field(
        default=None, description="Sinks file of 'spikewatch notify' (see docs/notify.md)."
    )
    notify_dead_letter_topic: str = Field(
        default="oncall-notify.dlq",
        description="Escalations a notify sink refused for good, with the sink's answer.",
    )
    notify_web_host: str = Field(
        default="127.0.0.1", description="Bind address of notify's webhooks and /metrics."
    )
    notify_web_port: Annotated[int, Field(ge=1, le=65535)] = 6068
    notify_new_group_lookback_seconds: Annotated[float, Field(ge=0)] = Field(
        default=300.0,
        description="A sink's first start delivers escalations written this long before it.",
    )

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_username and (self.kafka_password or self.kafka_password_file)
        ):
            raise ValueError(
                "SASL needs SPIKEWATCH_KAFKA_USERNAME and SPIKEWATCH_KAFKA_PASSWORD_FILE"
                " (or SPIKEWATCH_KAFKA_PASSWORD)"
            )
        return self

    @model_validator(mode="after")
    def _inputs_can_be_republished(self) -> Settings:
        """A report with the wrong key is re-published whole (keyed by its broadcast id), so
        the largest input the worker accepts must be a record its producer can send."""
        largest = record_size(b"k" * MAX_ID_BYTES, b"v" * self.max_message_bytes)
        if largest > self.producer_max_request_bytes:
            raise ValueError(
                f"max_message_bytes {self.max_message_bytes} leaves no room under "
                f"producer_max_request_bytes {self.producer_max_request_bytes} to re-publish "
                "a report; lower the first or raise the second"
            )
        return self

    @property
    def resolved_dead_letter_topic(self) -> str:
        return self.dead_letter_topic or f"{self.input_topic}.dlq"

    @property
    def resolved_ack_dead_letter_topic(self) -> str:
        return self.ack_dead_letter_topic or f"{self.ack_topic}.dlq"

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{server.strip()}" for server in self.kafka_bootstrap.split(","))

    @property
    def resolved_console_store_topic(self) -> str:
        return self.console_store_topic or f"{self.app_id}-console"

    @property
    def resolved_verdict_dead_letter_topic(self) -> str:
        return f"{self.verdict_topic}.dlq"

    def oncall_topic(self, team: str) -> str:
        return f"{self.oncall_topic_prefix}{team}"


def load_settings() -> Settings:
    """The settings from the environment, or a :class:`SettingsError` naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        problem = first_problem(error)
        names = ", ".join(f"SPIKEWATCH_{str(part).upper()}" for part in problem.location)
        raise SettingsError(f"{names or 'settings'}: {problem.message}") from error
