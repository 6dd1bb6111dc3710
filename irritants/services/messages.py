"""Translated messages that also work outside a request (CLI, jobs, tests).

flask_babel asks the locale selector, which reads the request; outside a
request (and without force_locale) these return the English msgid instead.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context, has_request_context
from flask_babel import gettext, ngettext


def _can_translate() -> bool:
    if has_request_context():
        return True
    if not has_app_context():
        return False
    context = g.get("_flask_babel")
    return getattr(context, "babel_locale", None) is not None


def _(text: str, **values: Any) -> str:
    """gettext in a request or under force_locale, else the English text."""
    if _can_translate():
        return gettext(text, **values)
    return text % values if values else text


def n_(singular: str, plural: str, num: int, **values: Any) -> str:
    """ngettext in a request or under force_locale, else the English text."""
    if _can_translate():
        return ngettext(singular, plural, num, **values)
    values.setdefault("num", num)
    return (singular if num == 1 else plural) % values


def number(value: int) -> str:
    """A whole number for a message, grouped as the reader's language writes it (10 000 in
    French, 10,000 in English); plain outside a request."""
    if _can_translate():
        from flask_babel import format_decimal

        return str(format_decimal(value))
    return str(value)


def amount(value: Any) -> str:
    """An amount of euros for a message or a page: grouped as the reader's language writes
    it, its cents written out when there are any (49,90 / 49.90, not 49,9), none for whole
    euros (80); plain outside a request."""
    if _can_translate():
        from decimal import Decimal

        from flask_babel import format_decimal

        whole = Decimal(str(value)) % 1 == 0
        return str(format_decimal(value, "#,##0" if whole else "#,##0.00"))
    return str(value)


def quoted(value: Any) -> str:
    """A key, name or value quoted for a message as the reader's language writes it:
    « lille » in French (a no-break space inside each guillemet), “lille” in English;
    'lille' (repr of the text) outside a request. The value is written with str(); its
    control characters (newline, tab, NUL...) are escaped as repr escapes them, so that it
    stays on one line."""
    text = str(value)
    if not _can_translate():
        return repr(text)
    if not text.isprintable():
        text = repr(text)[1:-1]
    if current_language() == "fr":
        return f"\u00ab\u00a0{text}\u00a0\u00bb"
    return f"\u201c{text}\u201d"


def current_language() -> str:
    """'en' or 'fr': the language messages are being rendered in."""
    if not _can_translate():
        return "en"
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "fr"
