"""Helpers shared by the intake, irritant and queue pages (presentation only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import abort
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from irritants.services.errors import NotAllowed, NotFound
from irritants.services.snapshot import cached_org

INDENT = "\u00a0\u00a0"


def language() -> str:
    """'en' or 'fr', for the labels stored in both languages."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "fr"


# The service's dotted field names, by prefix, and the form field that shows them.
FIELD_ALIASES = {
    "needs.tools": "tools",
    "needs.competencies": "competencies",
    "needs.authorities": "authority_amount",
}


def show_field_errors(form: FlaskForm, field_errors: Mapping[str, Iterable[str]]) -> None:
    """Put a service's field errors beside the form's fields (others above the form)."""
    for name, messages in field_errors.items():
        alias = next((target for prefix, target in FIELD_ALIASES.items()
                      if name == prefix or name.startswith(prefix + ".")), None)
        field = getattr(form, alias or name, None)
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(messages)
        else:
            form.form_errors.extend(messages)


def as_choices(pairs: Iterable[tuple[str, Any]], blank: Any = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices, after an empty choice when `blank` is given."""
    choices = [SelectChoice("", blank)] if blank is not None else []
    return choices + [SelectChoice(value, label) for value, label in pairs]


def unit_choices(within: str | None = None) -> list[tuple[str, str]]:
    """Units in tree order, indented by depth (a subtree when `within` is given)."""
    org = cached_org()
    snapshot = org.snapshot
    start = within if within is not None else snapshot.root
    if start not in snapshot:
        return []
    base = snapshot.depth(start)
    return [
        (key, INDENT * (snapshot.depth(key) - base) + snapshot.unit(key).name)
        for key in snapshot.subtree(start)
        if key not in org.closed
    ]


def unit_name(unit_id: int | None) -> str:
    """The name of a unit, by database id (empty when unknown)."""
    org = cached_org()
    key = org.key_of.get(unit_id) if unit_id is not None else None
    return org.snapshot.unit(key).name if key is not None else ""


def unit_key(unit_id: int | None) -> str | None:
    """The key of a unit, by database id."""
    return cached_org().key_of.get(unit_id) if unit_id is not None else None


def abort_for(error: NotFound | NotAllowed) -> Any:
    """404 for what the actor may not see, 403 for what their role may never do."""
    abort(404 if isinstance(error, NotFound) else 403)


def vocabulary_label(item: Any) -> str:
    """A vocabulary item's label in the current language, else its key."""
    label = item.label_en if language() == "en" else item.label_fr
    return label or item.label_fr or item.label_en or item.key
