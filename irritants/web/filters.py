"""Jinja filters formatting dates, times and numbers in the visitor's language.

    {{ irritant.created_at|datetime }}          23 nov. 2026, 14:05 / Nov 23, 2026, 2:05 PM
    {{ irritant.created_at|datetime("short") }} 23/11/2026 14:05
    {{ irritant.due_at|timeago }}               dans 3 h / in 3 hr.
    {{ amount|number }}                         1 234,5 / 1,234.5
    {{ amount|money }}                          1 234,50 / 1,234.50 (80, not 80,00)

Times are UTC in the database and shown in BABEL_DEFAULT_TIMEZONE.

A page that formats many times (a list's rows) takes a TimeFormat once: the filters'
output, with the request's locale and time zone resolved once instead of at each call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel import Locale
from babel import dates as babel_dates
from flask import Flask
from flask_babel import format_date, format_decimal, get_locale, get_timezone

from irritants.services.messages import amount

# The default format: a medium date and a short time, "5 déc. 2026, 16:53". The people
# reading due times and timelines plan in minutes; Babel's "medium" adds the seconds, noise
# to them. The full timestamp stays in <time datetime="..."> (ISO) and in format "medium".
DATE_SHORT_TIME = "medium date, short time"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class TimeFormat:
    """The |datetime and |timeago filters for one request: Flask-Babel's locale and time zone
    looked up once (each lookup goes through the request context), then plain Babel calls."""

    def __init__(self, now: datetime | None = None) -> None:
        self.locale: Locale | str = get_locale() or "fr"
        self.timezone = get_timezone()
        self.now = now

    def format_datetime(self, value: datetime,
                        format: str = DATE_SHORT_TIME) -> str:  # noqa: A002
        """A date and time in the visitor's language and the display time zone."""
        if format == DATE_SHORT_TIME:
            return self._date_short_time(value)
        # As flask_babel.format_datetime: its "medium" etc. are Babel's (no date_formats set).
        return babel_dates.format_datetime(_aware(value), format, tzinfo=self.timezone,
                                           locale=self.locale)

    def _date_short_time(self, value: datetime) -> str:
        """The medium date and the short time joined as the locale joins a medium date and
        time (as Babel's format_datetime joins its own two halves)."""
        local = _aware(value).astimezone(self.timezone)
        joined = babel_dates.get_datetime_format("medium", locale=self.locale)
        return (joined.replace("'", "")
                .replace("{0}", babel_dates.format_time(local, "short", locale=self.locale))
                .replace("{1}", babel_dates.format_date(local, "medium", locale=self.locale)))

    def format_timeago(self, value: datetime) -> str:
        """The time relative to `now` (else the current time)."""
        delta = _aware(value) - (self.now or datetime.now(UTC))
        return babel_dates.format_timedelta(delta, add_direction=True, format="short",
                                            locale=self.locale)


def datetime_filter(value: datetime | None,
                    format: str = DATE_SHORT_TIME) -> str:  # noqa: A002
    """A date and time in the visitor's language and the display time zone."""
    if value is None:
        return ""
    return TimeFormat().format_datetime(value, format)


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
    return TimeFormat(now).format_timeago(value)


def number_filter(value: int | float | Decimal | None) -> str:
    """A number in the visitor's language."""
    return "" if value is None else format_decimal(value)


def money_filter(value: int | float | Decimal | None) -> str:
    """An amount of euros in the visitor's language: cents written out when there are any
    (49,90, not 49,9), none for whole euros."""
    return "" if value is None else amount(value)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(datetime_filter, "datetime")
    app.add_template_filter(date_filter, "date")
    app.add_template_filter(timeago_filter, "timeago")
    app.add_template_filter(number_filter, "number")
    app.add_template_filter(money_filter, "money")
