"""Acknowledgement v1: what on-call tools send back about an incident.

The escalation topics tell on-call that something happened; this contract is
the way back, so spikewatch can measure the on-call loop (time to acknowledge,
handle time, SLA breaches) without reading any on-call tool's API. Tools write
it as UTF-8 JSON on the acknowledgement topic (default ``oncall-acks``) keyed by
the incident's ``dedup_key``, the same key the escalation carried, so an
incident's escalations and acknowledgements live on the same partition number.

Who acted is only ``human`` or ``tool``: the worker needs the distinction for
the KPIs, not the person, so no identity travels here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
MAX_DEDUP_KEY_LENGTH = 512


class AckAction(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Actor(StrEnum):
    """A person on call, or an automation (auto-resolve, a bot) acting for nobody."""

    HUMAN = "human"
    TOOL = "tool"


class Acknowledgement(BaseModel):
    """One acknowledgement or resolution of an incident, keyed by its ``dedup_key``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1]
    dedup_key: Annotated[str, Field(min_length=1, max_length=MAX_DEDUP_KEY_LENGTH)] = Field(
        description="The dedup_key of the Escalation v1 events of the incident."
    )
    action: AckAction
    actor: Actor
    acted_at: AwareDatetime = Field(description="RFC 3339 with an offset: when it happened.")
    tool: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Name of the on-call tool that sent it, e.g. pagerduty."
    )
