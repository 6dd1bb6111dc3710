"""The case-insensitive "contains" search of the admin lists and the map."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_


def contains_any_case(needle: str, *columns: Any) -> ColumnElement[bool]:
    """One of `columns` contains the lower-case `needle`; `%`, `_` and `\\` match themselves."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))
