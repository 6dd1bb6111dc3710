"""Selects of units, rendered once per org version instead of once per request.

A select of every unit of a 1,000-unit organisation is a thousand <option>s: built,
compared and escaped one by one by WTForms, it cost the queue page most of its time.
`unit_select_choices()` builds the choices (and each option's HTML, as WTForms'
own Select widget renders it, selected or not) once per org version, language,
subtree and blank label; `UnitSelectField` renders and validates from them, and
behaves as a plain SelectField with any other choices.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext
from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import Select, html_params

from irritants.services.snapshot import cached_org

_MAX_CACHED = 64
FILTER_FROM = 12
"""From this many teams on, a select gets a search box (static/js/app.js reads data-filter)."""


class UnitChoices(tuple[SelectChoice, ...]):
    """The choices (immutable: one object serves every request of an org version), with
    each option pre-rendered, unselected and selected."""

    plain: tuple[str, ...]
    selected: tuple[str, ...]
    position: dict[Any, int]
    all_plain: str

    def __new__(cls, choices: Iterable[SelectChoice]) -> UnitChoices:
        return super().__new__(cls, choices)

    def __init__(self, choices: Iterable[SelectChoice]) -> None:
        choices = tuple(self)
        render = Select.render_option
        self.plain = tuple(str(render(Choice(c.value, c.label, False, c.render_kw)))
                           for c in choices)
        self.selected = tuple(str(render(Choice(c.value, c.label, True, c.render_kw)))
                              for c in choices)
        self.position: dict[Any, int] = {}
        for position, choice in enumerate(choices):
            self.position.setdefault(choice.value, position)
        self.all_plain = "".join(self.plain)


_lock = threading.Lock()
_cache: dict[tuple[Any, ...], UnitChoices] = {}


def unit_select_choices(within: str | None = None, blank: Any = None) -> UnitChoices:
    """unit_choices(within) as select choices, after an empty one labelled `blank` if given;
    the same object for the same org version, language, subtree and label."""
    # Imported here: the forms that use UnitSelectField are imported by that package.
    from irritants.web.irritant.support import language, unit_choices

    org = cached_org()
    key = (org.database, org.version, language(), within,
           None if blank is None else str(blank))
    found = _cache.get(key)
    if found is None:
        choices = [SelectChoice("", blank)] if blank is not None else []
        choices += [SelectChoice(value, label) for value, label in unit_choices(within)]
        found = UnitChoices(choices)
        with _lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.clear()
            _cache[key] = found
    return found


class _UnitSelect(Select):
    """WTForms' Select, from the pre-rendered options when the choices are UnitChoices."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        if len(choices) >= FILTER_FROM:
            # A long list of teams (thousands in a large org): the script adds a search box
            # labelled with this text; without the script it stays a plain select.
            kwargs.setdefault("data_filter", gettext("Search a team by name"))
        if not isinstance(choices, UnitChoices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in dir(flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(flags, name)
        position = field.selected_position()
        if position is None:
            options = choices.all_plain
        else:
            options = "".join((*choices.plain[:position], choices.selected[position],
                               *choices.plain[position + 1:]))
        # html_params escapes the attributes, WTForms' render_option escaped every option.
        return Markup(  # noqa: S704
            f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class UnitSelectField(SelectField):
    """A SelectField of units (coerce=str) that renders and checks UnitChoices quickly."""

    widget = _UnitSelect()

    def selected_position(self) -> int | None:
        """Where the current value is among the choices (None when it is not there)."""
        choices = self.choices
        assert isinstance(choices, UnitChoices)
        if not isinstance(self.data, str):  # coerce=str: only a string can equal a value
            return None
        position = choices.position.get(self.data)
        if position is None or self.coerce(choices[position].value) != self.data:
            return None
        return position

    def has_groups(self) -> bool:
        if isinstance(self.choices, UnitChoices):
            return False
        return bool(super().has_groups())

    def pre_validate(self, form: Any) -> None:
        if not isinstance(self.choices, UnitChoices):
            super().pre_validate(form)
            return
        if self.process_errors or not self.validate_choice:
            return
        if self.selected_position() is None:
            raise ValidationError(
                self.invalid_choice_message or self.gettext("Not a valid choice.")
            )
