"""A fast path for the ordinary, well-formed ReportEvent; pydantic stays the contract.

Validating every report with pydantic costs more than deciding on it. Almost
every report is well-formed and plainly typed, so :func:`fast_report` decodes it
with msgspec into a strict wire struct, checks what the struct cannot express
(the RFC 3339 form and plausible range of ``reported_at``, unknown categories)
and builds the very :class:`~models.report.ReportEvent` pydantic would have
built: the same field values and types, fields set and private state.

It only ever answers for payloads it is sure about. Anything else (a missing or
mistyped field, a value pydantic would coerce, such as ``5.0`` for an int or
``"true"`` for a bool, an out-of-range number, a malformed time) gets None, and
the caller validates with pydantic, which accepts or rejects with its exact
reason. A property test (tests/models/test_fast_report.py) holds the two paths
to that promise.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from models.report import (
    EARLIEST_EVENT_TIME,
    KNOWN_CATEGORIES,
    LATEST_EVENT_TIME,
    MAX_COMMENT_LENGTH,
    MAX_ID_LENGTH,
    MAX_LANGUAGE_LENGTH,
    MAX_REGION_LENGTH,
    MAX_VIEWER_COUNT,
    RFC3339,
    Category,
    MediaType,
    Platform,
    ReporterInfo,
    ReportEvent,
)

_Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]


class _WireReporter(msgspec.Struct, gc=False):
    """:class:`ReporterInfo` as msgspec checks it; UNSET tells absent from null.

    Untracked by the garbage collector (``gc=False``, as :class:`_WireReport`): it holds
    atoms only and dies within :func:`fast_report`, so tracking it would only make the
    collector run more often."""

    account_age_days: Annotated[int, msgspec.Meta(ge=0)] | UnsetType | None = UNSET
    trust: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | UnsetType | None = UNSET
    trusted_flagger: bool | UnsetType | None = UNSET
    was_viewing: bool | UnsetType | None = UNSET


class _WireReport(msgspec.Struct, gc=False):
    """:class:`ReportEvent` as msgspec checks it (strictly: no coercion at all).

    ``msgspec.to_builtins`` leaves its UNSET fields out: what remains is the fields set."""

    schema_version: Literal[1]
    report_id: _Identifier
    broadcast_id: _Identifier
    reporter_id: _Identifier
    category: str
    reported_at: str
    broadcaster_id: _Identifier | UnsetType | None = UNSET
    platform: Platform | UnsetType | None = UNSET
    media_type: MediaType | UnsetType = UNSET
    viewer_count: Annotated[int, msgspec.Meta(ge=0, le=MAX_VIEWER_COUNT)] | UnsetType | None = UNSET
    reporter: _WireReporter | UnsetType | None = UNSET
    region: Annotated[str, msgspec.Meta(max_length=MAX_REGION_LENGTH)] | UnsetType | None = UNSET
    language: Annotated[str, msgspec.Meta(max_length=MAX_LANGUAGE_LENGTH)] | UnsetType | None = (
        UNSET
    )
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_LENGTH)] | UnsetType | None = UNSET


_DECODER = msgspec.json.Decoder(_WireReport)
_EVENT_TIME = TypeAdapter(AwareDatetime)
_CATEGORIES = {category.value: category for category in Category}

Model = TypeVar("Model", bound=BaseModel)


def fast_report(payload: bytes) -> ReportEvent | None:
    """The ReportEvent pydantic would validate from ``payload``, or None when unsure."""
    try:
        wire = _DECODER.decode(payload)
    except (msgspec.MsgspecError, RecursionError):
        return None
    text = wire.reported_at
    if not RFC3339.fullmatch(text):
        return None
    try:
        reported_at = _EVENT_TIME.validate_strings(text)
    except ValidationError:
        return None
    if not (
        _SURELY_PLAUSIBLE_YEARS[0] <= text[:4] <= _SURELY_PLAUSIBLE_YEARS[1]
        or EARLIEST_EVENT_TIME <= reported_at <= LATEST_EVENT_TIME
    ):
        return None
    unknown_category = wire.category not in KNOWN_CATEGORIES
    present = msgspec.to_builtins(wire)
    present["category"] = Category.OTHER if unknown_category else _CATEGORIES[wire.category]
    present["reported_at"] = reported_at
    if isinstance(wire.platform, Platform):  # to_builtins gave the value, not the member
        present["platform"] = wire.platform
    if isinstance(wire.media_type, MediaType):
        present["media_type"] = wire.media_type
    reporter = present.get("reporter")
    if reporter is not None:
        present["reporter"] = _REPORTER.build(reporter, None)
    return _REPORT.build(present, {"_category_was_unknown": unknown_category})


def _surely_plausible_years() -> tuple[str, str]:
    """The years (as ``reported_at`` spells them) whose every time is plausible whatever
    its offset: comparing four characters costs a fraction of comparing two aware
    datetimes. An offset (two digits of hours) moves a time by less than five days, so a
    year is sure when it starts five days after the earliest bound and ends five days
    before the latest."""
    margin = timedelta(days=5)
    first = (EARLIEST_EVENT_TIME + margin).year + 1
    last = (LATEST_EVENT_TIME - margin).year - 1
    return (f"{first:04d}", f"{last:04d}")


_SURELY_PLAUSIBLE_YEARS = _surely_plausible_years()


class _Builder(Generic[Model]):
    """Builds instances of one model as pydantic's validator leaves them.

    ``model_construct`` does the same but costs several times more; equality with
    pydantic's own result, private state and fields set included, is what the
    property test checks. Defaults are taken once, so the model may have no
    default factories (a shared mutable default would leak between reports).
    The instance's four slots are set through their descriptors, which costs about
    half of ``object.__setattr__``'s lookup by name.
    """

    def __init__(self, model: type[Model]) -> None:
        if any(field.default_factory is not None for field in model.model_fields.values()):
            raise TypeError(f"{model.__name__} has a default factory; build it with pydantic")
        self.model = model
        self.defaults = {name: field.default for name, field in model.model_fields.items()}

    def build(self, present: dict[str, Any], private: dict[str, Any] | None) -> Model:
        """``present`` holds the fields the payload gave (msgspec leaves out the absent
        ones); the rest take their defaults, in declaration order."""
        instance = _new_object(self.model)
        _set_dict(instance, {**self.defaults, **present})
        _set_fields_set(instance, set(present))
        _set_extra(instance, None)
        _set_private(instance, private)
        return instance


_new_object = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_REPORT = _Builder(ReportEvent)
_REPORTER = _Builder(ReporterInfo)
