"""Request and response schemas of the JSON API (marshmallow 4).

Requests are strict: unknown fields, a string where a number is expected (or the
reverse), booleans as numbers, NUL bytes and unencodable text are all `422`.
Responses take exactly api.md's shapes; times are ISO 8601 UTC with a `Z`. Messages are
written `_l("...")` (irritants.api.messages) and shown in the request's language.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import marshmallow as ma
from marshmallow import validate

from irritants.api.messages import _l
from irritants.models import CHANNELS, EVENT_TYPES, SEVERITIES, STATUSES

MAX_DESCRIPTION = 10_000
MAX_TEXT = 10_000
MAX_KEY = 100
MAX_AMOUNT = Decimal("1000000000000")  # Numeric(14, 2)
CENT = Decimal("0.01")


# --- fields -----------------------------------------------------------------------------


class NoNulString(ma.fields.String):
    """A JSON string: no NUL byte, and text that can be stored (no lone surrogate)."""

    default_error_messages = {
        "nul": _l("Must not contain a NUL character."),
        "encoding": _l("Must be valid Unicode text."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("encoding") from error
        return text


class Key(NoNulString):
    """A key of a unit, category, root cause or vocabulary item."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_KEY))
        super().__init__(**kwargs)


class Text(NoNulString):
    """Free text that must not be blank."""

    default_error_messages = {"blank": _l("Must not be blank.")}

    def __init__(self, *, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(min=1, max=max_length))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise self.make_error("blank")
        return text


class Amount(ma.fields.Number):
    """A JSON number >= 0 with at most two decimals (euros); comes back as a number."""

    num_type = Decimal
    default_error_messages = {
        "invalid": _l("Must be a number."),
        "negative": _l("Must be zero or more."),
        "too_large": _l("Must be less than %(max)s."),
        "decimals": _l("Must have at most two decimals."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("minimum", 0)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        try:
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, ValueError) as error:
            raise self.make_error("invalid") from error
        if amount < 0:
            raise self.make_error("negative")
        if amount >= MAX_AMOUNT:
            raise self.make_error("too_large", max=int(MAX_AMOUNT))
        if amount != amount.quantize(CENT):
            raise self.make_error("decimals")
        return amount

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return json_number(value)


class JsonNumber(ma.fields.Number):
    """An output number: integers stay integers, decimals become JSON numbers."""

    num_type = Decimal

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return json_number(value)


def json_number(value: Any) -> int | float | None:
    """A number as JSON writes it (never a string)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


class UTCDateTime(ma.fields.DateTime):
    """ISO 8601 in UTC with a `Z`; a time read without an offset is UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso_utc(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or "\x00" in value:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """`2026-01-31T09:15:00Z` (seconds at least), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Authorities(ma.fields.Field):
    """A map authority key -> amount; errors are reported per key (`needs.authorities.gesture`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise ma.ValidationError(_l("Must be an object of authority: amount."))
        errors: dict[str, list[str]] = {}
        amounts: dict[str, Decimal] = {}
        key_field, amount_field = Key(), Amount(required=True)
        for key, amount in value.items():
            try:
                key_field.deserialize(key)
            except ma.ValidationError as error:
                errors.setdefault(str(key), []).extend(_messages(error))
                continue
            try:
                amounts[key] = amount_field.deserialize(amount)
            except ma.ValidationError as error:
                errors.setdefault(key, []).extend(_messages(error))
        if errors:
            raise ma.ValidationError(errors)
        return amounts

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return {key: json_number(amount) for key, amount in (value or {}).items()}


def _messages(error: ma.ValidationError) -> list[str]:
    messages = error.messages
    return [str(item) for item in messages] if isinstance(messages, list) else [str(messages)]


# --- requests -------------------------------------------------------------------------


class IrritantCreateSchema(ma.Schema):
    """A new irritant. `origin_unit` defaults to the caller's unit."""

    category = Key(required=True, metadata={"description": "A category key (GET /categories)"})
    severity = ma.fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    description = Text(required=True, max_length=MAX_DESCRIPTION)
    amount = Amount(allow_none=True, metadata={"description": "Euros, at most two decimals"})
    origin_unit = Key(allow_none=True, metadata={"description": "A unit key (GET /units)"})
    customer_ref = NoNulString(allow_none=True, validate=validate.Length(max=100))
    channel = ma.fields.String(allow_none=True, validate=validate.OneOf(CHANNELS))


class CommentSchema(ma.Schema):
    """A comment on an irritant."""

    text = Text(required=True)


class NeedsSchema(ma.Schema):
    """What the assignee's team lacks; every part is optional; unknown keys are accepted."""

    tools = ma.fields.List(Key())
    competencies = ma.fields.List(Key())
    authorities = Authorities(metadata={
        "type": "object", "additionalProperties": {"type": "number", "minimum": 0},
        "example": {"gesture": 100},
    })


class EscalateSchema(ma.Schema):
    """A manual escalation: why, and what the team lacks."""

    reason = Text(required=True, max_length=2000)
    needs = ma.fields.Nested(NeedsSchema, allow_none=True)


class ReassignSchema(ma.Schema):
    """A reassignment by hand to any unit."""

    unit = Key(required=True)
    reason = Text(required=True, max_length=2000)


class ResolveSchema(ma.Schema):
    """A resolution; `root_cause` is one of the category's root causes (optional here)."""

    resolution = Text(required=True)
    root_cause = Key(allow_none=True)
    root_cause_detail = NoNulString(allow_none=True, validate=validate.Length(max=2000))


class IrritantFilterSchema(ma.Schema):
    """Filters and page of `GET /irritants`."""

    class Meta:
        unknown = ma.EXCLUDE

    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    severity = ma.fields.String(validate=validate.OneOf(SEVERITIES))
    assignee = Key()
    origin_unit = Key()
    category = Key()
    root_cause = Key()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


# --- responses ------------------------------------------------------------------------


class RequirementsSchema(ma.Schema):
    """What it takes to resolve the irritant (routing.md "Requirements")."""

    competencies = ma.fields.List(ma.fields.String(), required=True)
    authorities = Authorities(required=True, metadata={
        "type": "object", "additionalProperties": {"type": "number"},
    })
    tools = ma.fields.List(ma.fields.String(), required=True)


class MissingAuthoritySchema(ma.Schema):
    """An authority a unit fails: the amount required and its own limit (absent: none held)."""

    required = JsonNumber(required=True)
    limit = JsonNumber()


class GapSchema(ma.Schema):
    """What one unit on the path from the origin to the assignee lacks."""

    unit = ma.fields.String(required=True)
    missing_competencies = ma.fields.List(ma.fields.String(), required=True)
    missing_authorities = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(MissingAuthoritySchema), required=True
    )
    missing_tools = ma.fields.List(ma.fields.String(), required=True)


_RANK = {
    "description": "The rank tuple [distance, up, open_load, key] of the current assignment, "
    "null when unroutable or after an SLA escalation or reassignment",
    "example": [2, 1, 0, "north-bo"],
}


class IrritantSchema(ma.Schema):
    """An irritant, as api.md shows it (plus its other recorded fields)."""

    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))
    category = ma.fields.String(required=True)
    severity = ma.fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    origin_unit = ma.fields.String(required=True)
    assignee = ma.fields.String(required=True)
    rank = ma.fields.List(ma.fields.Raw(), required=True, allow_none=True, metadata=_RANK)
    unroutable = ma.fields.Boolean(required=True)
    escalation_level = ma.fields.Integer(required=True)
    overdue = ma.fields.Boolean(required=True)
    created_at = UTCDateTime(required=True)
    due_at = UTCDateTime(required=True)
    requirements = ma.fields.Nested(RequirementsSchema, required=True)
    gaps = ma.fields.List(ma.fields.Nested(GapSchema), required=True)
    description = ma.fields.String(required=True)
    amount = JsonNumber(required=True, allow_none=True)
    customer_ref = ma.fields.String(required=True, allow_none=True)
    channel = ma.fields.String(required=True, allow_none=True)
    occurrences = ma.fields.Integer(required=True)
    reporter = ma.fields.String(required=True, allow_none=True,
                                metadata={"description": "Email of the person who logged it"})
    taken_by = ma.fields.String(required=True, allow_none=True,
                                metadata={"description": "Email of the person working on it"})
    resolution = ma.fields.String(required=True, allow_none=True)
    root_cause = ma.fields.String(required=True, allow_none=True)
    root_cause_detail = ma.fields.String(required=True, allow_none=True)
    resolved_at = UTCDateTime(required=True, allow_none=True)
    updated_at = UTCDateTime(required=True)


class EventSchema(ma.Schema):
    """One immutable step of an irritant's history; fields beyond type/at/actor by type."""

    type = ma.fields.String(required=True, validate=validate.OneOf(EVENT_TYPES), metadata={
        "description": "routed (logged and routed, or routed again by a manual escalation), "
        "sla_escalated, reassigned, taken, commented, resolved, occurred_again, photo_added",
    })
    at = UTCDateTime(required=True)
    actor = ma.fields.String(required=True, allow_none=True,
                             metadata={"description": "Email of the actor; null for the system"})
    assignee = ma.fields.String(allow_none=True, metadata={
        "description": "routed, sla_escalated, reassigned: the unit it went to"})
    rank = ma.fields.List(ma.fields.Raw(), allow_none=True,
                          metadata={"description": "routed: the rank tuple, null if unroutable"})
    gaps = ma.fields.List(ma.fields.Nested(GapSchema),
                          metadata={"description": "routed: the gaps recorded then"})
    unroutable = ma.fields.Boolean(metadata={"description": "routed"})
    escalation_level = ma.fields.Integer(metadata={"description": "sla_escalated: the new level"})
    unit = ma.fields.String(metadata={"description": "reassigned: the unit it was given to"})
    reason = ma.fields.String(metadata={"description": "routed by escalation, reassigned"})
    needs = ma.fields.Dict(metadata={"description": "routed by escalation: what was lacking"})
    text = ma.fields.String(metadata={"description": "commented"})
    resolution = ma.fields.String(metadata={"description": "resolved"})
    root_cause = ma.fields.String(allow_none=True, metadata={"description": "resolved"})
    root_cause_detail = ma.fields.String(allow_none=True, metadata={"description": "resolved"})
    customer_ref = ma.fields.String(allow_none=True, metadata={"description": "occurred_again"})
    filename = ma.fields.String(metadata={"description": "photo_added"})
    previous = ma.fields.String(data_key="from", attribute="from", metadata={
        "description": "reassigned, routed by escalation: the unit it was taken from"})


class IrritantDetailSchema(IrritantSchema):
    """An irritant with its whole history, oldest first."""

    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class CommentCreatedSchema(ma.Schema):
    """The comment event just added."""

    id = ma.fields.Integer(required=True)
    irritant_id = ma.fields.Integer(required=True)
    type = ma.fields.String(required=True)
    at = UTCDateTime(required=True)
    actor = ma.fields.String(required=True, allow_none=True)
    text = ma.fields.String(required=True)


class UnitSchema(ma.Schema):
    """A unit of the organisation tree."""

    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    parent = ma.fields.String(required=True, allow_none=True)


class LabelsSchema(ma.Schema):
    """A name in French and English."""

    fr = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


class RootCauseSchema(ma.Schema):
    """One root cause of a category."""

    key = ma.fields.String(required=True)
    labels = ma.fields.Nested(LabelsSchema, required=True)


class CategorySchema(ma.Schema):
    """A category, its SLA hours per severity (defaults applied) and root causes."""

    key = ma.fields.String(required=True)
    labels = ma.fields.Nested(LabelsSchema, required=True)
    sla_hours = ma.fields.Dict(keys=ma.fields.String(), values=JsonNumber(), required=True,
                               metadata={"example": {"critical": 2, "high": 24,
                                                     "medium": 72, "low": 168}})
    root_causes = ma.fields.List(ma.fields.Nested(RootCauseSchema), required=True)
    active = ma.fields.Boolean(required=True)
