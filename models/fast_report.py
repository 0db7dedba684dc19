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


class _WireReporter(msgspec.Struct):
    """:class:`ReporterInfo` as msgspec checks it; UNSET tells absent from null."""

    account_age_days: Annotated[int, msgspec.Meta(ge=0)] | UnsetType | None = UNSET
    trust: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | UnsetType | None = UNSET
    trusted_flagger: bool | UnsetType | None = UNSET
    was_viewing: bool | UnsetType | None = UNSET


class _WireReport(msgspec.Struct):
    """:class:`ReportEvent` as msgspec checks it (strictly: no coercion at all)."""

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
    if not RFC3339.fullmatch(wire.reported_at):
        return None
    try:
        reported_at = _EVENT_TIME.validate_json(f'"{wire.reported_at}"')
    except ValidationError:
        return None
    if not EARLIEST_EVENT_TIME <= reported_at <= LATEST_EVENT_TIME:
        return None
    unknown_category = wire.category not in KNOWN_CATEGORIES
    values = msgspec.structs.asdict(wire)
    values["category"] = Category.OTHER if unknown_category else _CATEGORIES[wire.category]
    values["reported_at"] = reported_at
    values["reporter"] = _reporter(wire.reporter)
    return _REPORT.build(values, {"_category_was_unknown": unknown_category})


class _Builder(Generic[Model]):
    """Builds instances of one model as pydantic's validator leaves them.

    ``model_construct`` does the same but costs several times more; equality with
    pydantic's own result, private state and fields set included, is what the
    property test checks. Defaults are taken once, so the model may have no
    default factories (a shared mutable default would leak between reports).
    """

    def __init__(self, model: type[Model]) -> None:
        if any(field.default_factory is not None for field in model.model_fields.values()):
            raise TypeError(f"{model.__name__} has a default factory; build it with pydantic")
        self.model = model
        self.defaults = {name: field.default for name, field in model.model_fields.items()}

    def build(self, values: dict[str, Any], private: dict[str, Any] | None) -> Model:
        """``values`` holds every field, in declaration order; UNSET takes the default."""
        fields_set = set(values)
        unset = [name for name, value in values.items() if value is UNSET]
        if unset:
            fields_set.difference_update(unset)
            for name in unset:
                values[name] = self.defaults[name]
        instance = self.model.__new__(self.model)
        object.__setattr__(instance, "__dict__", values)
        object.__setattr__(instance, "__pydantic_fields_set__", fields_set)
        object.__setattr__(instance, "__pydantic_extra__", None)
        object.__setattr__(instance, "__pydantic_private__", private)
        return instance


_REPORT = _Builder(ReportEvent)
_REPORTER = _Builder(ReporterInfo)


def _reporter(wire: _WireReporter | UnsetType | None) -> ReporterInfo | UnsetType | None:
    if wire is None or wire is UNSET:
        return wire
    values = msgspec.structs.asdict(wire)
    return _REPORTER.build(values, None)
