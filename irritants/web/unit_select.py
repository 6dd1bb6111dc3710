"""Fields of units: a select for a small organisation, a text input with suggestions for a
large one; their choices rendered once per org version instead of once per request.

A select of every unit of a 1,000-unit organisation is a thousand <option>s: built,
compared and escaped one by one by WTForms, it cost the queue page most of its time.
`unit_select_choices()` builds the choices (and each option's HTML, as WTForms'
own Select widget renders it, selected or not) once per org version, language,
subtree and blank label; `UnitSelectField` renders and validates from them, and
behaves as a plain SelectField with any other choices.

From PICKER_FROM teams on (10,000 in a large organisation: a 700 KB page), the field is
a text input instead, "Name (key)", whose suggestions static/js/app.js asks
`unit_suggestions()` for (main.unit_suggestions) as the user types. The choices stay the
allowed set: what is typed is resolved among them (`resolve_unit_text()`: a key, "Name
(key)" or an unambiguous name, case and accents ignored), so the field validates as the
select did. Each field names its set of units (UNIT_SETS), the one rule for its choices
and its suggestions.
"""

from __future__ import annotations

import bisect
import heapq
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import url_for
from flask_babel import gettext
from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import Select, html_params

from irritants.services.snapshot import cached_org

_MAX_CACHED = 64
FILTER_FROM = 12
"""From this many teams on, a select gets a search box (static/js/app.js reads data-filter)."""
PICKER_FROM = 300
"""From this many teams on, a text input with suggestions replaces the select."""
SUGGEST_FROM = 2
"""Suggestions are for at least this many characters typed."""
SUGGESTIONS = 20
"""At most this many suggestions."""


class UnitChoices(tuple[SelectChoice, ...]):
    """The choices (immutable: one object serves every request of an org version), with
    each option pre-rendered, unselected and selected, and their units indexed for the
    picker (each built when first needed)."""

    position: dict[Any, int]

    def __new__(cls, choices: Iterable[SelectChoice]) -> UnitChoices:
        return super().__new__(cls, choices)

    def __init__(self, choices: Iterable[SelectChoice]) -> None:
        self.position: dict[Any, int] = {}
        for position, choice in enumerate(self):
            self.position.setdefault(choice.value, position)

    # Rendered when first asked for: a large organisation's picker never renders options.
    @cached_property
    def plain(self) -> tuple[str, ...]:
        render = Select.render_option
        return tuple(str(render(Choice(c.value, c.label, False, c.render_kw))) for c in self)

    @cached_property
    def selected(self) -> tuple[str, ...]:
        render = Select.render_option
        return tuple(str(render(Choice(c.value, c.label, True, c.render_kw))) for c in self)

    @cached_property
    def all_plain(self) -> str:
        return "".join(self.plain)

    @cached_property
    def search_index(self) -> UnitIndex:
        return UnitIndex.of(self)


_lock = threading.Lock()
# Each with the cached org it was built from: another org object of the same version number
# (the snapshot forgotten, e.g. by tests that empty the database) gets its choices again.
_cache: dict[tuple[Any, ...], tuple[Any, UnitChoices]] = {}


def unit_select_choices(within: str | None = None, blank: Any = None) -> UnitChoices:
    """unit_choices(within) as select choices, after an empty one labelled `blank` if given;
    the same object for the same org version, language, subtree and label."""
    # Imported here: the forms that use UnitSelectField are imported by that package.
    from irritants.web.irritant.support import language, unit_choices

    org = cached_org()
    key = (org.database, org.version, language(), within,
           None if blank is None else str(blank))
    cached = _cache.get(key)
    if cached is not None and cached[0] is org:
        return cached[1]
    choices = [SelectChoice("", blank)] if blank is not None else []
    choices += [SelectChoice(value, label) for value, label in unit_choices(within)]
    found = UnitChoices(choices)
    with _lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[key] = (org, found)
    return found


# -- finding a unit by what was typed -------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_NAME_KEY = re.compile(r"(?P<name>.*)\((?P<key>[^()]*)\)\s*", re.S)


def plain_text(text: str) -> str:
    """`text` as searches compare it: accents and case ignored, ’ as ', spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def unit_label(name: str, key: str) -> str:
    """A unit as the picker shows it and reads it back: "Store Lille (lille)"."""
    return f"{name} ({key})"


@dataclass(frozen=True)
class UnitEntry:
    """One unit of a set of choices, as searches read it."""

    key: str
    name: str
    plain_name: str
    plain_key: str
    haystack: str  # the plain name and key, for "has every word typed"


class _Lines:
    """Texts in one string, a line each, searched at the speed of str.find: which lines
    have a needle ("\n" + text: which start with it), in order, each once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.blob = "\n" + "\n".join(texts) + "\n"
        self.ends: list[int] = []  # where each line's closing "\n" is
        end = 0
        for text in texts:
            end += len(text) + 1
            self.ends.append(end)

    def hits(self, needle: str) -> Iterator[int]:
        find, ends = self.blob.find, self.ends
        at = find(needle)
        while at != -1:
            line = bisect.bisect_left(ends, at + 1)  # a leading "\n" ends the line before
            yield line
            at = find(needle, ends[line])


@dataclass(frozen=True)
class UnitIndex:
    """The units of a set of choices (the blank one left out), in their order, by name."""

    entries: tuple[UnitEntry, ...]
    name_of: Mapping[str, str]
    by_name: Mapping[str, tuple[str, ...]]
    by_plain_key: Mapping[str, str]
    names: _Lines
    keys: _Lines
    haystacks: _Lines

    @classmethod
    def of(cls, choices: Iterable[SelectChoice]) -> UnitIndex:
        entries: list[UnitEntry] = []
        name_of: dict[str, str] = {}
        for choice in choices:
            key = choice.value
            if not isinstance(key, str) or not key or key in name_of:
                continue
            name = str(choice.label).strip()  # without the tree's indent
            plain = plain_text(name)
            plain_key = plain_text(key)
            entries.append(UnitEntry(key, name, plain, plain_key, f"{plain} {plain_key}"))
            name_of[key] = name
        by_name: dict[str, list[str]] = {}
        by_plain_key: dict[str, str] = {}
        for entry in entries:
            by_name.setdefault(entry.plain_name, []).append(entry.key)
            by_plain_key.setdefault(entry.plain_key, entry.key)
        return cls(tuple(entries), name_of,
                   {name: tuple(keys) for name, keys in by_name.items()}, by_plain_key,
                   _Lines([entry.plain_name for entry in entries]),
                   _Lines([entry.plain_key for entry in entries]),
                   _Lines([entry.haystack for entry in entries]))


def unit_index(choices: Sequence[SelectChoice]) -> UnitIndex:
    """The index of these choices: built once for UnitChoices, each time for a list."""
    if isinstance(choices, UnitChoices):
        return choices.search_index
    return UnitIndex.of(choices)


@dataclass(frozen=True)
class Resolved:
    """What a text typed into a picker names: a unit's key ("" for nothing typed; a key
    outside the choices is refused by the field as a select refuses it), or an error."""

    key: str | None
    error: str | None = None


def resolve_unit_text(text: str, choices: Sequence[SelectChoice]) -> Resolved:
    """The unit `text` names among `choices`: its key, "Name (key)", or its name when
    exactly one unit of the choices has it (case, accents and spaces ignored)."""
    typed = " ".join(text.split())
    if not typed:
        return Resolved("")
    index = unit_index(choices)
    if typed in index.name_of:
        return Resolved(typed)
    match = _NAME_KEY.fullmatch(typed)
    named_key = match.group("key").strip() if match else None
    if named_key and named_key in index.name_of:
        return Resolved(named_key)
    if named_key and plain_text(named_key) in index.by_plain_key:
        return Resolved(index.by_plain_key[plain_text(named_key)])
    plain = plain_text(typed)
    named = index.by_name.get(plain, ())
    if len(named) == 1:
        return Resolved(named[0])
    if len(named) > 1:
        return Resolved(None, gettext("Several teams are named “%(name)s”: type its key.",
                                      name=typed))
    if plain in index.by_plain_key:
        return Resolved(index.by_plain_key[plain])
    # A unit of the organisation outside the choices (closed, outside the user's scope):
    # the field refuses it as the select refuses a value that is not among its options.
    snapshot = cached_org().snapshot
    for key in (typed, named_key):
        if key and key in snapshot:
            return Resolved(key)
    return Resolved(None, gettext("No team matches “%(text)s”.", text=typed))


def unit_suggestions(text: str, choices: Sequence[SelectChoice],
                     limit: int | None = None) -> list[dict[str, str]]:
    """The units of `choices` whose name or key has every word of `text` (case and accents
    ignored): those whose name or key starts with it first, then those with a word of the
    name starting with its first word, then the others, each in the choices' order; at
    most `limit` (SUGGESTIONS), none for less than SUGGEST_FROM characters.

    The units are found by searching the index's texts (str.find), not by a loop over the
    units: a few tenths of a millisecond for 10,000 units, at worst a few milliseconds."""
    typed = plain_text(text)
    if len(typed) < SUGGEST_FROM:
        return []
    limit = limit or SUGGESTIONS
    words = typed.split()
    index = unit_index(choices)
    blob = index.haystacks.blob
    if not all(word in blob for word in words):
        return []
    entries = index.entries
    # First, the names and keys that start with the text (they have every word).
    first: list[int] = []
    for line in heapq.merge(index.names.hits("\n" + typed), index.keys.hits("\n" + typed)):
        if len(first) >= limit:
            break
        if not first or first[-1] != line:
            first.append(line)
    # Then, among the units with the rarest word, those with a word of the name starting
    # with the first word typed, then the others.
    start = words[0]
    word_start_exists = f"\n{start}" in index.names.blob or f" {start}" in index.names.blob
    second: list[int] = []
    third: list[int] = []
    wanted = limit - len(first)
    taken = set(first)
    for line in index.haystacks.hits(min(words, key=blob.count)) if wanted > 0 else ():
        if len(second) >= wanted or (len(third) >= wanted and not word_start_exists):
            break
        entry = entries[line]
        if line in taken or not all(word in entry.haystack for word in words):
            continue
        if f" {entry.plain_name}".find(f" {start}") != -1:
            second.append(line)
        elif len(third) < wanted:
            third.append(line)
    chosen = (first + second + third)[:limit]
    return [{"key": entries[line].key, "name": entries[line].name,
             "label": unit_label(entries[line].name, entries[line].key)} for line in chosen]


# -- which units a field offers ----------------------------------------------------------------


def _open_units(blank: Any) -> Sequence[SelectChoice]:
    """Every open unit, in tree order."""
    return unit_select_choices(blank=blank)


def _queue_units(blank: Any) -> Sequence[SelectChoice]:
    """The units whose queue the user may open: everything, their subtree, or their unit
    (for the first two, the same choices object for a whole org version)."""
    from flask_login import current_user

    from irritants.services import access
    from irritants.web.irritant.support import as_choices, unit_key, unit_name

    own = unit_key(current_user.unit_id)
    if current_user.role in access.SEES_ALL:
        return unit_select_choices(blank=blank)
    if current_user.role == "lead" and own is not None:
        return unit_select_choices(within=own, blank=blank)
    if own is None:
        return as_choices([], blank=blank)
    return as_choices([(own, unit_name(current_user.unit_id))], blank=blank)


UNIT_SETS: dict[str, Callable[[Any], Sequence[SelectChoice]]] = {
    "open": _open_units,
    "queue": _queue_units,
}
"""The sets of units a field may offer, by name (a field's `unit_set`; the suggestions'
`among`): the one place that says which units each field offers the current user."""


def unit_set_choices(unit_set: str, blank: Any = None) -> Sequence[SelectChoice]:
    """The choices of a set of units for the current user, after a blank one if given."""
    return UNIT_SETS[unit_set](blank)


def blank_of(choices: Sequence[SelectChoice]) -> Any:
    """The label of the blank choice ("Anywhere", "Choose…"; always the first), else None."""
    return choices[0].label if choices and choices[0].value == "" else None


def is_large(choices: Sequence[SelectChoice]) -> bool:
    """Whether these choices are too many for a select (the picker's text input instead):
    PICKER_FROM units or more, the blank choice left out."""
    return len(choices) - (blank_of(choices) is not None) >= PICKER_FROM


def unit_name_in(choices: Sequence[SelectChoice], key: str) -> str | None:
    """The name of the unit of that key among the choices (its label without the tree's
    indent), None when it is not there; found by key in UnitChoices, without the index."""
    if isinstance(choices, UnitChoices):
        position = choices.position.get(key)
        found = choices[position] if position is not None else None
    else:
        found = next((choice for choice in choices if choice.value == key), None)
    return str(found.label).strip() if found is not None else None


class _UnitSelect(Select):
    """WTForms' Select, from the pre-rendered options when the choices are UnitChoices; the
    picker's text input when they are too many (is_large)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        if isinstance(field, UnitSelectField) and field.is_picker():
            return self.picker(field, **kwargs)
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

    def picker(self, field: UnitSelectField, **kwargs: Any) -> Markup:
        """A text input of the unit's "Name (key)"; static/js/app.js suggests units from
        data-unit-picker (the suggestions of the field's set) as the user types."""
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in dir(flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(flags, name)
        blank = blank_of(field.choices)
        if blank is not None:  # "Anywhere", "Choose…": what an empty box means
            kwargs.setdefault("placeholder", str(blank))
        kwargs.update(type="text", autocomplete="off", autocapitalize="off", spellcheck="false",
                      data_unit_picker=url_for("main.unit_suggestions", among=field.unit_set))
        return Markup(  # noqa: S704 - html_params escapes every attribute
            f"<input {html_params(name=field.name, value=field.picker_text(), **kwargs)}>")


class UnitSelectField(SelectField):
    """A SelectField of units (coerce=str) that renders and checks UnitChoices quickly, and
    becomes a text input with suggestions when its choices are too many (is_large).

    `unit_set` names the units it offers (UNIT_SETS); `fill_units()` sets its choices from
    it and reads what was typed into the picker. Without a picker it is a plain select."""

    widget = _UnitSelect()

    def __init__(self, label: Any = None, validators: Any = None, *, unit_set: str = "open",
                 **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        if unit_set not in UNIT_SETS:
            raise ValueError(f"unit_set must be one of {sorted(UNIT_SETS)}, got {unit_set!r}")
        self.unit_set = unit_set
        self.typed: str | None = None  # the text sent, before it is resolved
        self.unresolved: str | None = None  # why that text names no unit
        self._resolved = True

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if valuelist and isinstance(valuelist[0], str):
            self.typed = valuelist[0]
            self._resolved = False

    def fill_units(self, blank: Any = None) -> None:
        """The choices of the field's set of units, after a blank one if given; a text
        typed into the picker then becomes the key of the unit it names."""
        self.choices = unit_set_choices(self.unit_set, blank)
        self._resolved = self.typed is None
        self.resolve()

    def offer_closed(self, may_see: Callable[[str], bool] | None = None) -> None:
        """Offer also the unit of the field's value when it is closed (a link to a unit
        closed since, a closed unit's closed parent), marked as closed, if the user may
        see it (`may_see`, else everyone may): the select shows it chosen instead of
        another team, the picker names it. Call it after fill_units()."""
        key = self.data
        if not isinstance(key, str) or not key or self.choices is None:
            return
        org = cached_org()
        if key not in org.closed or unit_name_in(self.choices, key) is not None:
            return
        if may_see is not None and not may_see(key):
            return
        label = gettext("%(name)s (closed)", name=org.snapshot.unit(key).name)
        self.choices = UnitChoices([*self.choices, SelectChoice(key, label)])

    def is_picker(self) -> bool:
        """Whether the field is the picker's text input rather than a select."""
        return self.choices is not None and is_large(self.choices)

    def resolve(self) -> None:
        """The picker's text as the key of the unit it names among the choices (data), or
        None with the reason (`unresolved`). Once per choices; a select's value is kept."""
        if self._resolved:
            return
        self._resolved = True
        if self.typed is None or not self.is_picker():
            return
        found = resolve_unit_text(self.typed, self.choices)
        if found.key == "" and blank_of(self.choices) is None:
            found = Resolved(None, gettext("Choose a team."))
        self.data, self.unresolved = found.key, found.error

    def picker_text(self) -> str:
        """What the picker's box shows: the unit's "Name (key)", else what was typed."""
        key = self.data if isinstance(self.data, str) else ""
        name = unit_name_in(self.choices, key) if key else None
        if name is not None and self.unresolved is None:
            return unit_label(name, key)
        return self.typed if self.typed is not None else key

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
        self.resolve()
        if self.unresolved is not None:
            raise StopValidation(self.unresolved)
        if not isinstance(self.choices, UnitChoices):
            super().pre_validate(form)
            return
        if self.process_errors or not self.validate_choice:
            return
        if self.selected_position() is None:
            raise ValidationError(
                self.invalid_choice_message or self.gettext("Not a valid choice.")
            )


def unit_key_of(text: str, unit_set: str = "open") -> str | None:
    """The key of the unit `text` names (as resolve_unit_text reads it) in a set of units,
    or None: a form's value read outside its form (the duplicate hint's origin)."""
    return resolve_unit_text(text, unit_set_choices(unit_set)).key or None
