"""Jinja filters formatting dates, times and numbers in the visitor's language.

    {{ irritant.created_at|datetime }}          23 nov. 2026, 14:05:00 / Nov 23, 2026, ...
    {{ irritant.created_at|datetime("short") }} 23/11/2026 14:05
    {{ irritant.due_at|timeago }}               dans 3 h / in 3 hr.
    {{ amount|number }}                         1 234,5 / 1,234.5

Times are UTC in the database and shown in BABEL_DEFAULT_TIMEZONE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel.dates import format_timedelta
from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def datetime_filter(value: datetime | None, format: str = "medium") -> str:  # noqa: A002
    """A date and time in the visitor's language and the display time zone."""
    if value is None:
        return ""
    return format_datetime(_aware(value), format)


def date_filter(value: date | datetime | None, format: str = "medium") -> str:  # noqa: A002
    """A date in the visitor's language."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value)
    return format_date(value, format)


def timeago_filter(value: datetime | None, now: datetime | None = None) -> str:
    """The time relative to now: "in 3 hr." / "dans 3 h", "2 days ago" / "il y a 2 j"."""
    if value is None:
        return ""
    delta = _aware(value) - (now or datetime.now(UTC))
    return format_timedelta(
        delta, add_direction=True, format="short", locale=get_locale() or "fr"
    )


def number_filter(value: int | float | Decimal | None) -> str:
    """A number in the visitor's language."""
    return "" if value is None else format_decimal(value)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(datetime_filter, "datetime")
    app.add_template_filter(date_filter, "date")
    app.add_template_filter(timeago_filter, "timeago")
    app.add_template_filter(number_filter, "number")
