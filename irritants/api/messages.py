"""The API's messages in the language of the request, marshmallow's own included.

marshmallow writes its messages in English, and a field or validator keeps the messages it
was built with: our schemas are built once, at import. `install()` (run when the
irritants.api package is imported, before any of its schemas is built) puts a `Message` in
place of each default message of the field and validator classes our schemas use. A
`Message` is its English text as a `str`, translated into the request's language
(irritants.services.messages._) when it is formatted or shown, so one field speaks French
to one request and English to the next.

Not flask_babel's lazy_gettext: marshmallow formats a field's message only when it is a
`str` (`Field.make_error`), and a LazyString is not one, so "Length must be between {min}
and {max}." would come out as it is. A `Message` is a `str`, and its `format()` (what
marshmallow and its validators call, with the message's values) translates first, then
fills in the values: the placeholders are the app's usual `%(min)s`, checked against the
French catalogue by tests/web/test_catalogues.py, and the numbers are written as the
reader's language writes them (10 000 / 10,000). What marshmallow keeps without formatting
it (a schema's "Unknown field.") is translated when shown, by `str(message)`
(irritants.api.errors.flatten_errors).

Write the API's own fixed messages with `_l("...")` (it marks them for the catalogue) and
build the answer's text with `str()`; a message made while answering a request may use
irritants.services.messages._ as the services do.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from irritants.services.messages import _, number


class Message(str):
    """An English message that is translated when it is formatted or shown."""

    __slots__ = ()

    def __str__(self) -> str:
        return _(str.__str__(self))

    def format(self, *args: Any, **values: Any) -> str:
        """The translated message with its values, numbers as the language writes them.

        marshmallow passes more values than a message shows (`input`, the client's own
        value, which may be any size): only the message's placeholders are written out."""
        text = str.__str__(self)
        return _(text, **{name: _shown(value) for name, value in values.items()
                          if f"%({name})" in text})


def _shown(value: Any) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return number(value)  # type: ignore[arg-type]
    return value


def _l(text: str) -> Message:
    """`text`, marked for the catalogue, translated when it is formatted or shown."""
    return Message(text)


class _Composed(str):
    """A validator's message that the validator completes when it is built: Range turns
    "Must be {min_op} %(min)s." and "greater than or equal to" into one sentence, which
    becomes the `Message` the catalogue translates whole (RANGE_MESSAGES)."""

    __slots__ = ()

    def format(self, *args: Any, **parts: Any) -> Message:
        return Message(str.format(self, *args, **parts))


# The sentences validate.Range composes, for each kind of bound (listed for the catalogue).
RANGE_MESSAGES = (
    _l("Must be greater than or equal to %(min)s."),
    _l("Must be greater than %(min)s."),
    _l("Must be less than or equal to %(max)s."),
    _l("Must be less than %(max)s."),
    _l("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    _l("Must be greater than or equal to %(min)s and less than %(max)s."),
    _l("Must be greater than %(min)s and less than or equal to %(max)s."),
    _l("Must be greater than %(min)s and less than %(max)s."),
)

# The default messages of the fields our request schemas use (and a few alike), with
# marshmallow's English wording; DateTime's "Not a valid {obj_type}." is written out.
FIELD_MESSAGES: dict[type[fields.Field], dict[str, Message]] = {
    fields.Field: {
        "required": _l("Missing data for required field."),
        "null": _l("Field may not be null."),
        "validator_failed": _l("Invalid value."),
    },
    fields.Nested: {"type": _l("Invalid type.")},
    fields.List: {"invalid": _l("Not a valid list.")},
    fields.String: {
        "invalid": _l("Not a valid string."),
        "invalid_utf8": _l("Not a valid utf-8 string."),
    },
    fields.Number: {"invalid": _l("Not a valid number."), "too_large": _l("Number too large.")},
    fields.Integer: {"invalid": _l("Not a valid integer.")},
    fields.Boolean: {"invalid": _l("Not a valid boolean.")},
    fields.Mapping: {"invalid": _l("Not a valid mapping type.")},
    fields.DateTime: {"invalid": _l("Not a valid datetime.")},
    fields.Date: {"invalid": _l("Not a valid date.")},
}
SCHEMA_MESSAGES = {"type": _l("Invalid input type."), "unknown": _l("Unknown field.")}
LENGTH_MESSAGES = {
    "message_min": _l("Shorter than minimum length %(min)s."),
    "message_max": _l("Longer than maximum length %(max)s."),
    "message_all": _l("Length must be between %(min)s and %(max)s."),
    "message_equal": _l("Length must be %(equal)s."),
}
ONE_OF_MESSAGE = _l("Must be one of: %(choices)s.")


def install() -> None:
    """Give marshmallow's field, schema and validator classes translated default messages.

    Run it before the schemas are built (fields, schemas and validators copy their
    messages when built); running it again changes nothing.
    """
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}),
                                      **messages}
    ma.Schema._default_error_messages = {**ma.Schema._default_error_messages,
                                         **SCHEMA_MESSAGES}
    for name, message in LENGTH_MESSAGES.items():
        setattr(validate.Length, name, message)
    validate.OneOf.default_message = ONE_OF_MESSAGE
    validate.Range.message_min = _Composed("Must be {min_op} %(min)s.")
    validate.Range.message_max = _Composed("Must be {max_op} %(max)s.")
    validate.Range.message_all = _Composed("Must be {min_op} %(min)s and {max_op} %(max)s.")
