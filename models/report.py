"""ReportEvent v1: one viewer's abuse report about a live broadcast.

Published by the reporting front ends on the input topic (default
``broadcast-reports``) as UTF-8 JSON, Kafka key = ``broadcast_id``.

Compatibility rules, chosen so that producers can evolve without breaking us:

* unknown extra fields are ignored (producers may add fields before we read them);
* an unknown ``category`` becomes ``other`` rather than a dead letter, because a
  report about a category we do not know yet is still a report about abuse;
  :attr:`ReportEvent.category_was_unknown` lets the shell count those;
* ``schema_version`` must be exactly 1: a v2 payload may change meanings, so it is
  refused loudly (dead letter) rather than half-understood.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1
MAX_ID_LENGTH = 128
MAX_COMMENT_LENGTH = 2000
MAX_VIEWER_COUNT = 10_000_000_000
MAX_REGION_LENGTH = 64
MAX_LANGUAGE_LENGTH = 35
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_EVENT_TIME = datetime(2100, 1, 1, tzinfo=UTC)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


class Category(StrEnum):
    """Abuse categories a viewer can pick; the policy maps each to a team and severity."""

    CHILD_SAFETY = "child_safety"
    VIOLENT_EXTREMISM = "violent_extremism"
    VIOLENT_THREAT = "violent_threat"
    GRAPHIC_VIOLENCE = "graphic_violence"
    SELF_HARM = "self_harm"
    ADULT_CONTENT = "adult_content"
    HATEFUL_CONDUCT = "hateful_conduct"
    HARASSMENT = "harassment"
    PRIVATE_INFO = "private_info"
    SPAM = "spam"
    COPYRIGHT = "copyright"
    OTHER = "other"


KNOWN_CATEGORIES = frozenset(category.value for category in Category)


class Platform(StrEnum):
    TWITTER = "twitter"
    PERISCOPE = "periscope"


class MediaType(StrEnum):
    LIVE_VIDEO = "live_video"
    VIDEO = "video"
    IMAGE = "image"


Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class ReporterInfo(BaseModel):
    """What the reporting front end knows about the reporter, all optional.

    The detector uses these to weigh a report; none of it identifies the person.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    account_age_days: Annotated[int, Field(ge=0)] | None = None
    trust: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    trusted_flagger: bool | None = None
    was_viewing: bool | None = None


class ReportEvent(BaseModel):
    """A viewer's report. ``reported_at`` is the event time every window uses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1]
    report_id: Identifier
    broadcast_id: Identifier
    reporter_id: Identifier
    category: Category
    reported_at: AwareDatetime = Field(
        description="RFC 3339 timestamp with an explicit offset; the event time."
    )
    broadcaster_id: Identifier | None = None
    platform: Platform | None = None
    media_type: MediaType = MediaType.LIVE_VIDEO
    viewer_count: Annotated[int, Field(ge=0, le=MAX_VIEWER_COUNT)] | None = None
    reporter: ReporterInfo | None = None
    region: Annotated[str, Field(max_length=MAX_REGION_LENGTH)] | None = None
    language: Annotated[str, Field(max_length=MAX_LANGUAGE_LENGTH)] | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT_LENGTH)] | None = None

    _category_was_unknown: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_unknown_category(cls, data: Any, handler: Any) -> ReportEvent:
        unknown = False
        if isinstance(data, dict):
            raw = data.get("category")
            if isinstance(raw, str) and raw not in KNOWN_CATEGORIES:
                unknown = True
                data = {**data, "category": Category.OTHER.value}
        event: ReportEvent = handler(data)
        event._category_was_unknown = unknown
        return event

    @field_validator("reported_at", mode="before")
    @classmethod
    def _require_rfc3339_string(cls, value: Any) -> Any:
        """Only RFC 3339 text: pydantic alone would also read numbers as Unix time."""
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            raise ValueError("reported_at must be an RFC 3339 timestamp with an offset")
        return value

    @field_validator("reported_at")
    @classmethod
    def _plausible_event_time(cls, value: datetime) -> datetime:
        """A live-broadcast report from before 2000 or after 2100 is a broken clock."""
        if not EARLIEST_EVENT_TIME <= value <= LATEST_EVENT_TIME:
            raise ValueError("reported_at must lie between 2000-01-01 and 2100-01-01")
        return value

    @property
    def category_was_unknown(self) -> bool:
        """True when the producer sent a category this version does not know.

        Read from the private values' dict itself: through the attribute, pydantic's
        ``__getattr__`` costs microseconds, and the worker asks for every report filed
        under ``other``."""
        private = self.__pydantic_private__
        return bool(private and private.get("_category_was_unknown"))

    @property
    def event_time(self) -> float:
        """Event time in Unix seconds, the unit the decision core works in."""
        return self.reported_at.timestamp()
