"""Verdict v1: what the person on call decided an incident was.

Escalations say what spikewatch saw; acknowledgements say that someone
answered. Neither says whether the page was *right*, and without that replay
can only score a candidate policy against synthetic labels. A verdict is that
label: one person's judgement of one incident, written by the console (or any
other tool) as UTF-8 JSON on the verdict topic (default ``oncall-verdicts``)
keyed by the incident's ``dedup_key``. A later verdict on the same incident
replaces an earlier one.

Privacy: ``actor`` is a pseudonymous id (a keyed hash of the person's login,
never the login itself), and ``note`` is free text for colleagues that must not
hold personal data: no reporter or viewer ids, names, e-mail addresses or
report comments. Tools writing verdicts are responsible for that; the console
tells its users so next to the field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
MAX_NOTE_LENGTH = 500
MAX_DEDUP_KEY_LENGTH = 512


class VerdictKind(StrEnum):
    CONFIRMED = "confirmed"
    """Real abuse: the page was right."""
    FALSE_ALARM = "false_alarm"
    """Nothing abusive: the page should not have fired."""
    COORDINATED = "coordinated"
    """A coordinated false-reporting campaign against the broadcast."""
    DUPLICATE = "duplicate"
    """Already handled under another incident."""

    @property
    def page_was_wanted(self) -> bool:
        """Whether a person wanted to be told: only real abuse deserves a page."""
        return self is VerdictKind.CONFIRMED


PseudonymousId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Verdict(BaseModel):
    """One person's judgement of one incident, keyed by its ``dedup_key``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    dedup_key: Annotated[str, Field(min_length=1, max_length=MAX_DEDUP_KEY_LENGTH)] = Field(
        description="The dedup_key of the incident's escalation events."
    )
    verdict: VerdictKind
    note: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = Field(
        default=None,
        description="Optional free text for colleagues. Must hold no personal data: no "
        "reporter or viewer ids, names, e-mail addresses or report comments.",
    )
    actor: PseudonymousId = Field(
        description="Pseudonymous id of the person (a keyed hash of their login), never "
        "the login itself."
    )
    decided_at: AwareDatetime = Field(description="RFC 3339 with an offset: when it was decided.")
    tool: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default="spikewatch-console", description="Name of the tool that wrote it."
    )

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()
