"""Field checks shared by the services: collect messages per field, convert nothing silently."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from irritants.services.errors import InvalidInput
from irritants.services.messages import _, number

MAX_AMOUNT = Decimal("1000000000000")  # Numeric(14, 2)
CENT = Decimal("0.01")


class FieldErrors(dict[str, list[str]]):
    """Messages per field; raise() when any."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise InvalidInput(dict(self))


def check_text(
    value: Any,
    field: str,
    errors: FieldErrors,
    *,
    max_length: int,
    required: bool = True,
) -> str | None:
    """A string without NUL, at most max_length characters; stripped; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _("This field is required."))
        return None
    if not isinstance(value, str):
        errors.add(field, _("Must be a string."))
        return None
    if "\x00" in value:
        errors.add(field, _("Must not contain a NUL character."))
        return None
    if len(value) > max_length:
        errors.add(
            field, _("Must be at most %(max)s characters long.", max=number(max_length))
        )
        return None
    return value.strip()


def check_amount(value: Any, field: str, errors: FieldErrors) -> Decimal | None:
    """A number >= 0 with at most two decimals (bool and strings are not numbers)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        errors.add(field, _("Must be a number."))
        return None
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        errors.add(field, _("Must be a number."))
        return None
    if not amount.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        errors.add(field, _("Must be a number."))
        return None
    if amount < 0:
        errors.add(field, _("Must be zero or more."))
        return None
    if amount >= MAX_AMOUNT:
        errors.add(field, _("Must be less than %(max)s.", max=number(int(MAX_AMOUNT))))
        return None
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        errors.add(field, _("Must have at most two decimals."))
        return None
    return amount


def check_choice(value: Any, field: str, errors: FieldErrors, choices: Iterable[str],
                 *, required: bool = True) -> str | None:
    """One of the choices."""
    allowed = tuple(choices)
    if value is None or value == "":
        if required:
            errors.add(field, _("This field is required."))
        return None
    if not isinstance(value, str) or value not in allowed:
        errors.add(field, _("Must be one of: %(choices)s.", choices=", ".join(allowed)))
        return None
    return value


def check_keys(value: Any, field: str, errors: FieldErrors) -> list[str]:
    """A list of non-empty strings (vocabulary keys) of at most 100 characters, deduplicated."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.add(field, _("Must be a list of strings."))
        return []
    keys: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or "\x00" in item or len(item) > 100:
            errors.add(field, _("Must be a list of non-empty strings of at most 100 characters."))
            return []
        if item.strip() not in keys:
            keys.append(item.strip())
    return keys


MAX_ID = 2**63 - 1


def valid_id(row_id: Any) -> bool:
    """Whether a database id column could hold this value."""
    return isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id <= MAX_ID


def get_by_id(model: Any, row_id: Any) -> Any:
    """The row with that id, or None (also for an id no database column can hold)."""
    from irritants.extensions import db

    return db.session.get(model, row_id) if valid_id(row_id) else None
