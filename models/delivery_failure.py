"""DeliveryFailure v1: an escalation a sink of ``spikewatch notify`` could not take.

Written to the notify dead-letter topic (default ``oncall-notify.dlq``) keyed by
the incident's ``dedup_key`` when there is one. A refusal keeps the sink's
answer, so whoever fixes the sink configuration or the template can see why;
the escalation is kept byte for byte (base64) to be re-published once fixed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
MAX_ANSWER_LENGTH = 2000


class FailureReason(StrEnum):
    """Why the event was not delivered; a fixed enum, so the metric label stays bounded."""

    REFUSED = "refused"
    """The sink answered with a 4xx other than 408 and 429: the same request fails again."""
    INVALID_ESCALATION = "invalid_escalation"
    """The record on the escalation topic is not an escalation of a known version."""
    TEMPLATE_ERROR = "template_error"
    """The sink's template cannot render this event."""


class DeliveryFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    sink: str
    reason: FailureReason
    status: int | None = Field(default=None, description="The sink's HTTP status, if it answered.")
    answer: str = Field(max_length=MAX_ANSWER_LENGTH, description="The sink's body, or the error.")
    dedup_key: str | None = None
    sequence: int | None = None
    team: str | None = None
    source_topic: str
    source_partition: int
    source_offset: int
    payload_base64: str
    failed_at: AwareDatetime
