"""The organisation: import and export in routing.md's "Org import format".

Import merges: it creates or updates the units, categories, users and labels
it names (by key, or by email for users) and deletes nothing. An optional field
left out of an entry keeps its current value on an existing entry and takes
its default on a new one; the required fields (unit key and name; category
key, label and competency; user email, name, unit and role) are required on
every entry, and a new user needs a password. A user's password is only used
when the user is created.

The whole file is validated against the organisation as it will stand once
merged with the database, before anything is written; a refused file raises
InvalidInput with one entry per offending path (`units.3.parent`) and a
message naming the offending key. An import that changes units, categories or
labels bumps the org version once; one that changes users only does not
(users are not part of the routing snapshot). Every import that changes
something writes one `org_import` audit event; importing the same file twice
changes nothing the second time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from irritants.extensions import db
from irritants.models import (
    ROLES,
    SEVERITIES,
    AuditEvent,
    Category,
    OrgState,
    Unit,
    User,
    VocabularyLabel,
)
from irritants.routing.org import OrgSnapshot
from irritants.routing.org import Unit as RoutingUnit
from irritants.services.errors import Conflict, InvalidInput
from irritants.services.messages import _, quoted
from irritants.services.org_version import bump_org_version, current_org_version

KEY_PATTERN = re.compile(r"[a-z0-9_-]{1,100}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128  # accounts.py's policy (ASVS V6.2)
MAX_LIMIT = 10**12  # fits the Numeric(14, 2) columns that record limits in gaps
MAX_SLA_HOURS = 10 * 365 * 24

TOP_LEVEL_KEYS = ("units", "categories", "users", "labels")
ENTRY_KINDS = TOP_LEVEL_KEYS
UNIT_FIELDS = ("key", "name", "parent", "competencies", "authorities", "tools")
CATEGORY_FIELDS = (
    "key", "label", "competency", "authority", "tools", "sla_hours", "root_causes",
)
USER_FIELDS = ("email", "name", "unit", "role", "password")
# The `labels` object's sections, and the vocabulary kind each one names.
LABEL_SECTIONS = {"competencies": "competency", "authorities": "authority", "tools": "tool"}

# Root causes a lead can choose from when a category's file gives none.
DEFAULT_ROOT_CAUSES: tuple[dict[str, str], ...] = (
    {"key": "process", "fr": "Processus", "en": "Process"},
    {"key": "training", "fr": "Formation", "en": "Training"},
    {"key": "tooling", "fr": "Outils", "en": "Tooling"},
    {"key": "staffing", "fr": "Effectifs", "en": "Staffing"},
    {"key": "supplier", "fr": "Fournisseur", "en": "Supplier"},
    {"key": "policy", "fr": "Politique commerciale", "en": "Policy"},
    {"key": "other", "fr": "Autre", "en": "Other"},
)
_DEFAULT_ROOT_CAUSE_BY_KEY = {cause["key"]: cause for cause in DEFAULT_ROOT_CAUSES}

ABSENT: Any = object()
"""An optional field the file leaves out: kept on an existing entry, defaulted on a new one."""


@dataclass(frozen=True)
class ImportReport:
    """What an import created and updated, and the org version after it."""

    units_created: int = 0
    units_updated: int = 0
    categories_created: int = 0
    categories_updated: int = 0
    users_created: int = 0
    users_updated: int = 0
    labels_created: int = 0
    labels_updated: int = 0
    changed: bool = False
    org_version: int = 0

    def counts(self) -> dict[str, int]:
        """The created/updated counts by name (`units_created`...)."""
        return {
            f"{kind}_{what}": getattr(self, f"{kind}_{what}")
            for kind in ENTRY_KINDS
            for what in ("created", "updated")
        }

    def summary(self) -> str:
        """One line for the command line."""
        parts = ", ".join(
            f"{kind} {getattr(self, kind + '_created')} created"
            f" {getattr(self, kind + '_updated')} updated"
            for kind in ENTRY_KINDS
        )
        state = "imported" if self.changed else "unchanged"
        return f"Organisation {state}: {parts}; org version {self.org_version}."


# -- parsed entries -------------------------------------------------------------


@dataclass
class _UnitEntry:
    path: str
    key: str
    name: str
    parent: Any = ABSENT  # str | None | ABSENT
    competencies: Any = ABSENT  # list[str] | ABSENT
    authorities: Any = ABSENT  # dict[str, int | float | None] | ABSENT
    tools: Any = ABSENT


@dataclass
class _CategoryEntry:
    path: str
    key: str
    label_fr: str
    label_en: str
    competency: str
    authority: Any = ABSENT  # str | None | ABSENT
    tools: Any = ABSENT
    sla_hours: Any = ABSENT
    root_causes: Any = ABSENT


@dataclass
class _UserEntry:
    path: str
    email: str
    name: str
    unit: str
    role: str
    password: str | None


@dataclass
class _Parsed:
    units: list[_UnitEntry] = field(default_factory=list)
    categories: list[_CategoryEntry] = field(default_factory=list)
    users: list[_UserEntry] = field(default_factory=list)
    # (kind, key) -> (fr, en)
    labels: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


class _Errors(dict[str, list[str]]):
    """Messages by path, in the order found."""

    def add(self, path: str, message: str) -> None:
        self.setdefault(path, []).append(message)

    def about(self, section: str) -> bool:
        """Whether any message is about this top-level section."""
        return any(path == section or path.startswith(section + ".") for path in self)

    def in_file_order(self) -> dict[str, list[str]]:
        """The messages by section (units, categories, users, labels), then entry number."""
        def position(path: str) -> tuple[int, int, str]:
            section, _, rest = path.partition(".")
            number, _, _ = rest.partition(".")
            order = TOP_LEVEL_KEYS.index(section) if section in TOP_LEVEL_KEYS else -1
            return (order, int(number) if number.isdigit() else -1, path)

        return {path: self[path] for path in sorted(self, key=position)}


# -- import ---------------------------------------------------------------------


def import_org(data: Any, *, actor: User | None = None) -> ImportReport:
    """Merge an org file into the database; raises InvalidInput (nothing written) or Conflict."""
    try:
        _lock_org()
        existing = _existing_org()
        parsed = _validate(data, existing)
        hashes = {
            entry.email: _hash_password(entry.password)
            for entry in parsed.users
            if entry.email not in existing.users and entry.password is not None
        }
        report = _apply(parsed, existing, hashes, actor)
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("the organisation changed during the import; try again") from error
    except BaseException:
        db.session.rollback()
        raise
    return report


@dataclass
class _Existing:
    """The organisation as the database holds it, read once."""

    units: dict[str, Unit]
    parents: dict[str, str | None]
    root: str | None
    categories: dict[str, Category]
    users: dict[str, User]  # by lower-case email
    labels: dict[tuple[str, str], VocabularyLabel]


def _lock_org() -> None:
    """Serialise imports on PostgreSQL (row lock); SQLite serialises writers itself."""
    db.session.execute(select(OrgState.id).where(OrgState.id == 1).with_for_update())


def _existing_org() -> _Existing:
    units = {unit.key: unit for unit in db.session.scalars(select(Unit))}
    key_of = {unit.id: unit.key for unit in units.values()}
    parents = {
        unit.key: (key_of[unit.parent_id] if unit.parent_id is not None else None)
        for unit in units.values()
    }
    roots = sorted(key for key, parent in parents.items() if parent is None)
    return _Existing(
        units=units,
        parents=parents,
        root=roots[0] if roots else None,
        categories={c.key: c for c in db.session.scalars(select(Category))},
        users={user.email.lower(): user for user in db.session.scalars(select(User))},
        labels={(v.kind, v.key): v for v in db.session.scalars(select(VocabularyLabel))},
    )


# -- validation: shapes -----------------------------------------------------------


def _validate(data: Any, existing: _Existing) -> _Parsed:
    errors = _Errors()
    parsed = _Parsed()
    if not isinstance(data, Mapping):
        raise InvalidInput({"": [_("the file must hold a JSON object with a “units” list")]})
    for name in data:
        if name not in TOP_LEVEL_KEYS:
            errors.add(str(name), _("unknown top-level key %(name)s", name=quoted(name)))
    if "units" not in data:
        errors.add("units", _("the “units” list is missing"))
    for name, parse in (
        ("units", _parse_unit),
        ("categories", _parse_category),
        ("users", _parse_user),
    ):
        if name not in data:
            continue
        entries = data[name]
        if not isinstance(entries, list):
            errors.add(name, _("“%(name)s” must be a list", name=name))
            continue
        for index, raw in enumerate(entries):
            entry = parse(f"{name}.{index}", raw, errors)
            if entry is not None:
                getattr(parsed, name).append(entry)
    if "labels" in data:
        parsed.labels = _parse_labels(data["labels"], errors)
    _check_duplicates(parsed, errors)
    # The tree is checked once every unit entry is readable, whatever else is wrong,
    # so that one refusal lists every problem of the file.
    if not errors.about("units"):
        _check_tree(parsed.units, existing, errors)
    if not errors.about("units"):
        _check_users(parsed.users, parsed.units, existing, errors)
    if errors:
        raise InvalidInput(errors.in_file_order())
    return parsed


def _unknown_fields(path: str, raw: Mapping[str, Any], allowed: Iterable[str],
                    what: str, errors: _Errors) -> None:
    for name in raw:
        if name not in allowed:
            errors.add(f"{path}.{name}", _("%(what)s: unknown field %(name)s", what=what,
                                             name=quoted(name)))


def _entry_key(path: str, raw: Any, noun: str, errors: _Errors) -> str | None:
    """The slug key of a unit or category entry; None, with the error added, without one."""
    if not isinstance(raw, Mapping):
        errors.add(path, _("a unit must be an object") if noun == "unit"
                   else _("a category must be an object"))
        return None
    key = raw.get("key")
    if not _is_key(key):
        message = (_("unit key %(key)s must be a slug: lowercase letters, digits, '-' and "
                     "'_', at most 100 characters", key=quoted(key)) if noun == "unit"
                   else _("category key %(key)s must be a slug: lowercase letters, digits, "
                          "'-' and '_', at most 100 characters", key=quoted(key)))
        errors.add(f"{path}.key", message)
        return None
    return key


def _parse_unit(path: str, raw: Any, errors: _Errors) -> _UnitEntry | None:
    key = _entry_key(path, raw, "unit", errors)
    if key is None:
        return None
    what = _("unit %(key)s", key=quoted(key))
    count = len(errors)
    _unknown_fields(path, raw, UNIT_FIELDS, what, errors)
    name = _text(raw.get("name"), f"{path}.name", _("%(what)s: name", what=what), 200, errors)
    entry = _UnitEntry(path=path, key=key, name=name or "")
    if "parent" in raw:
        parent = raw["parent"]
        if parent is not None and not isinstance(parent, str):
            errors.add(f"{path}.parent", _("%(what)s: parent must be a unit key or null",
                                           what=what))
        entry.parent = parent
    for list_field in ("competencies", "tools"):
        if list_field in raw:
            setattr(entry, list_field, _vocabulary_list(
                raw[list_field], f"{path}.{list_field}",
                _("%(what)s: %(field)s", what=what, field=list_field), errors))
    if "authorities" in raw:
        entry.authorities = _authorities(raw["authorities"], f"{path}.authorities", what, errors)
    return entry if len(errors) == count else None


def _authorities(raw: Any, path: str, what: str, errors: _Errors) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        errors.add(path, _("%(what)s: authorities must be an object of key -> limit", what=what))
        return {}
    limits: dict[str, Any] = {}
    for authority, limit in raw.items():
        if not _is_vocabulary_key(authority):
            errors.add(path, _("%(what)s: authority key %(key)s must be a non-empty string of "
                               "at most 100 characters", what=what, key=quoted(authority)))
        elif limit is None:
            limits[authority] = None
        elif not _is_number(limit) or limit < 0 or limit > MAX_LIMIT:
            errors.add(f"{path}.{authority}", _(
                "%(what)s: authority %(key)s has limit %(limit)s; a limit is a number >= 0 "
                "(at most %(most)s), or null for unlimited", what=what, key=quoted(authority),
                limit=_value_text(limit), most=MAX_LIMIT))
        else:
            limits[authority] = _plain_number(limit)
    return limits


def _parse_category(path: str, raw: Any, errors: _Errors) -> _CategoryEntry | None:
    key = _entry_key(path, raw, "category", errors)
    if key is None:
        return None
    what = _("category %(key)s", key=quoted(key))
    count = len(errors)
    _unknown_fields(path, raw, CATEGORY_FIELDS, what, errors)
    label = _label(raw.get("label"), f"{path}.label", _("%(what)s: label", what=what), errors)
    competency = raw.get("competency")
    if not _is_vocabulary_key(competency):
        errors.add(f"{path}.competency", _("%(what)s: competency is required (a non-empty "
                                           "string of at most 100 characters)", what=what))
    entry = _CategoryEntry(path, key, label[0], label[1], competency or "")
    if "authority" in raw:
        if raw["authority"] is not None and not _is_vocabulary_key(raw["authority"]):
            errors.add(f"{path}.authority", _("%(what)s: authority must be a key or null",
                                              what=what))
        entry.authority = raw["authority"]
    if "tools" in raw:
        entry.tools = _vocabulary_list(raw["tools"], f"{path}.tools",
                                       _("%(what)s: %(field)s", what=what, field="tools"), errors)
    if "sla_hours" in raw:
        entry.sla_hours = _sla_hours(raw["sla_hours"], f"{path}.sla_hours", what, errors)
    if "root_causes" in raw:
        entry.root_causes = _root_causes(raw["root_causes"], f"{path}.root_causes", what, errors)
    return entry if len(errors) == count else None


def _sla_hours(raw: Any, path: str, what: str, errors: _Errors) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        errors.add(path, _("%(what)s: sla_hours must be an object of severity -> hours", what=what))
        return {}
    hours: dict[str, Any] = {}
    for severity, value in raw.items():
        if severity not in SEVERITIES:
            errors.add(f"{path}.{severity}", _(
                "%(what)s: unknown severity %(severity)s in sla_hours (one of %(known)s)",
                what=what, severity=quoted(severity), known=", ".join(SEVERITIES)))
        elif not _is_number(value) or not 0 < value <= MAX_SLA_HOURS:
            errors.add(f"{path}.{severity}", _(
                "%(what)s: sla_hours for %(severity)s must be a number of hours > 0 (at most "
                "%(most)s), not %(value)s", what=what, severity=quoted(severity),
                most=MAX_SLA_HOURS, value=_value_text(value)))
        else:
            hours[severity] = _plain_number(value)
    return {severity: hours[severity] for severity in SEVERITIES if severity in hours}


def _root_causes(raw: Any, path: str, what: str, errors: _Errors) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        errors.add(path, _("%(what)s: root_causes must be a non-empty list", what=what))
        return []
    causes: list[dict[str, str]] = []
    for index, item in enumerate(raw):
        item_path = f"{path}.{index}"
        if isinstance(item, str):
            item = _DEFAULT_ROOT_CAUSE_BY_KEY.get(item, {"key": item, "fr": item, "en": item})
        if not isinstance(item, Mapping):
            errors.add(item_path, _("%(what)s: a root cause is a key or an object "
                                    "{\"key\", \"fr\", \"en\"}", what=what))
            continue
        _unknown_fields(item_path, item, ("key", "fr", "en"),
                        _("%(what)s: root cause", what=what), errors)
        key = item.get("key")
        if not _is_key(key):
            errors.add(f"{item_path}.key", _("%(what)s: root cause key %(key)s must be a slug",
                                             what=what, key=quoted(key)))
            continue
        if any(cause["key"] == key for cause in causes):
            errors.add(f"{item_path}.key", _("%(what)s: duplicate root cause %(key)s",
                                             what=what, key=quoted(key)))
            continue
        fr, en = _label({lang: item[lang] for lang in ("fr", "en") if lang in item} or key,
                        item_path, _("%(what)s: root cause %(key)s", what=what, key=quoted(key)),
                        errors)
        causes.append({"key": key, "fr": fr, "en": en})
    return causes


def _parse_user(path: str, raw: Any, errors: _Errors) -> _UserEntry | None:
    if not isinstance(raw, Mapping):
        errors.add(path, _("a user must be an object"))
        return None
    email = raw.get("email")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        errors.add(f"{path}.email", _("user email %(email)s is not a valid email address",
                                       email=quoted(email)))
        return None
    email = email.lower()
    what = _("user %(email)s", email=quoted(email))
    count = len(errors)
    _unknown_fields(path, raw, USER_FIELDS, what, errors)
    name = _text(raw.get("name"), f"{path}.name", _("%(what)s: name", what=what), 200, errors)
    unit = raw.get("unit")
    if not isinstance(unit, str) or not unit:
        errors.add(f"{path}.unit", _("%(what)s: unit must be a unit key", what=what))
    role = raw.get("role")
    if role not in ROLES:
        errors.add(f"{path}.role", _("%(what)s: unknown role %(role)s (one of %(known)s)",
                                      what=what, role=quoted(role), known=", ".join(ROLES)))
    password = raw.get("password")
    if password is not None and not isinstance(password, str):
        errors.add(f"{path}.password", _("%(what)s: password must be a string", what=what))
    entry = _UserEntry(path, email, name or "", unit or "", role or "", password)
    return entry if len(errors) == count else None


def _parse_labels(raw: Any, errors: _Errors) -> dict[tuple[str, str], tuple[str, str]]:
    if not isinstance(raw, Mapping):
        errors.add("labels", _("“labels” must be an object with competencies, authorities "
                               "and tools"))
        return {}
    labels: dict[tuple[str, str], tuple[str, str]] = {}
    for section, entries in raw.items():
        if section not in LABEL_SECTIONS:
            errors.add(f"labels.{section}", _(
                "unknown labels section %(section)s (one of %(known)s)",
                section=quoted(section), known=", ".join(LABEL_SECTIONS)))
            continue
        if not isinstance(entries, Mapping):
            errors.add(f"labels.{section}", _(
                "labels.%(section)s must be an object of key -> {\"fr\", \"en\"}",
                section=section))
            continue
        for key, value in entries.items():
            path = f"labels.{section}.{key}"
            if not _is_vocabulary_key(key):
                errors.add(path, _("label key %(key)s must be a non-empty string", key=quoted(key)))
                continue
            fr, en = _label(value, path, _("label of %(key)s", key=quoted(key)), errors)
            labels[(LABEL_SECTIONS[section], key)] = (fr, en)
    return labels


# -- validation: the whole file against the database -----------------------------


def _check_duplicates(parsed: _Parsed, errors: _Errors) -> None:
    for kind, entries, attribute in (
        (_("unit key"), parsed.units, "key"),
        (_("category key"), parsed.categories, "key"),
        (_("user email"), parsed.users, "email"),
    ):
        first: dict[str, str] = {}
        for entry in entries:
            value = getattr(entry, attribute)
            if value in first:
                errors.add(f"{entry.path}.{attribute}", _(
                    "duplicate %(kind)s %(value)s (also at %(path)s)", kind=kind,
                    value=quoted(value), path=first[value]))
            else:
                first[value] = entry.path


def _check_tree(entries: list[_UnitEntry], existing: _Existing, errors: _Errors) -> None:
    """The merged tree: known parents, one root (the existing one), no cycle."""
    parents = dict(existing.parents)
    for entry in entries:
        if entry.parent is not ABSENT:
            parents[entry.key] = entry.parent
        elif entry.key not in parents:
            parents[entry.key] = None
    path_of = {entry.key: entry.path for entry in entries}
    for entry in entries:
        parent = parents[entry.key]
        if parent is not None and parent not in parents:
            errors.add(f"{entry.path}.parent", _(
                "unit %(key)s has an unknown parent %(parent)s", key=quoted(entry.key),
                parent=quoted(parent)))
    if errors:
        return
    if not parents:
        errors.add("units", _("the organisation has no unit: the file must name its root"))
        return
    _check_roots(parents, existing.root, path_of, errors)
    _check_cycles(parents, path_of, errors)
    if not errors:
        _check_with_routing_core(entries, existing, parents, errors)


def _check_roots(parents: dict[str, str | None], existing_root: str | None,
                 path_of: dict[str, str], errors: _Errors) -> None:
    roots = sorted(key for key, parent in parents.items() if parent is None)
    if existing_root is not None:
        if parents[existing_root] is not None:
            errors.add(f"{path_of[existing_root]}.parent", _(
                "unit %(key)s is the organisation's root: it cannot get a parent (%(parent)s)",
                key=quoted(existing_root), parent=quoted(parents[existing_root])))
        for key in roots:
            if key != existing_root:
                errors.add(f"{path_of[key]}.parent", _(
                    "unit %(key)s has no parent: it would be a second root beside the "
                    "organisation's root %(root)s", key=quoted(key), root=quoted(existing_root)))
    elif len(roots) > 1:
        # Reported on every root but the first of the file, the one kept as the root.
        roots.sort(key=lambda key: _file_order(path_of[key]))
        for key in roots[1:]:
            errors.add(f"{path_of[key]}.parent", _(
                "two roots: unit %(key)s has no parent, like the root %(root)s",
                key=quoted(key), root=quoted(roots[0])))


def _check_cycles(parents: dict[str, str | None], path_of: dict[str, str],
                  errors: _Errors) -> None:
    """Report each cycle once, on the first unit of the file that is part of it."""
    settled: set[str] = set()
    for start in sorted(parents):
        chain: list[str] = []
        on_chain: set[str] = set()
        key: str | None = start
        while key is not None and key not in settled and key not in on_chain:
            chain.append(key)
            on_chain.add(key)
            key = parents[key]
        if key is not None and key in on_chain:
            cycle = chain[chain.index(key):]
            first = min(cycle, key=lambda unit: _file_order(path_of.get(unit)))
            start_at = cycle.index(first)
            loop = [*cycle[start_at:], *cycle[:start_at], first]
            errors.add(f"{path_of.get(first, 'units')}.parent", _(
                "cycle: %(units)s", units=" -> ".join(quoted(unit) for unit in loop)))
        settled.update(chain)


def _file_order(path: str | None) -> int:
    return int(path.split(".")[1]) if path else 1 << 30


def _check_with_routing_core(entries: list[_UnitEntry], existing: _Existing,
                             parents: dict[str, str | None], errors: _Errors) -> None:
    """The routing core's own tree rules, on the merged organisation."""
    by_key = {entry.key: entry for entry in entries}
    units = []
    for key, parent in parents.items():
        entry, row = by_key.get(key), existing.units.get(key)
        units.append(RoutingUnit(
            key=key,
            name=entry.name if entry else row.name if row else key,
            parent=parent,
            competencies=frozenset(_merged(entry, row, "competencies", [])),
            authorities=_merged(entry, row, "authorities", {}),
            tools=frozenset(_merged(entry, row, "tools", [])),
        ))
    try:
        OrgSnapshot.build(units)
    except ValueError as error:
        errors.add("units", str(error))


def _merged(entry: Any, row: Any, name: str, default: Any) -> Any:
    """The value an import will leave: the file's, else the database's, else the default."""
    if entry is not None and getattr(entry, name) is not ABSENT:
        return getattr(entry, name)
    if row is not None:
        return getattr(row, name)
    return default


def _check_users(users: list[_UserEntry], units: list[_UnitEntry], existing: _Existing,
                 errors: _Errors) -> None:
    known_units = set(existing.units) | {entry.key for entry in units}
    for entry in users:
        if entry.unit not in known_units:
            errors.add(f"{entry.path}.unit", _(
                "user %(email)s names an unknown unit %(unit)s", email=quoted(entry.email),
                unit=quoted(entry.unit)))
        if entry.email in existing.users:
            continue
        if entry.password is None:
            errors.add(f"{entry.path}.password", _(
                "user %(email)s is new: a password is required", email=quoted(entry.email)))
        elif not MIN_PASSWORD_LENGTH <= len(entry.password) <= MAX_PASSWORD_LENGTH:
            errors.add(f"{entry.path}.password", _(
                "user %(email)s: the password must have at least %(least)s characters (at "
                "most %(most)s)", email=quoted(entry.email), least=MIN_PASSWORD_LENGTH,
                most=MAX_PASSWORD_LENGTH))
        elif _is_common_password(entry.password, entry.email):
            errors.add(f"{entry.path}.password", _(
                "user %(email)s: the password is too common or too easy to guess",
                email=quoted(entry.email)))


# -- small validators ---------------------------------------------------------------


def _value_text(value: Any) -> str:
    """A refused value of the file for a message: a string quoted, a number (or another
    JSON value) as it is, so that 'lots' and -10 read apart."""
    return quoted(value) if isinstance(value, str) else str(value)


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and KEY_PATTERN.fullmatch(value) is not None


def _is_vocabulary_key(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 100 and value.strip() == value


def _is_number(value: Any) -> bool:
    """A JSON number: not a bool, not NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return math.isfinite(value)


def _plain_number(value: int | float | Decimal) -> int | float:
    """Keep ints and floats as given; a Decimal becomes the JSON number it spells."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _text(value: Any, path: str, what: str, max_length: int, errors: _Errors) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        errors.add(path, _("%(what)s is required: a non-empty string of at most %(most)s "
                           "characters", what=what, most=max_length))
        return None
    return value.strip()


def _vocabulary_list(value: Any, path: str, what: str, errors: _Errors) -> list[str]:
    if not isinstance(value, list) or not all(_is_vocabulary_key(item) for item in value):
        errors.add(path, _("%(what)s must be a list of keys (non-empty strings)", what=what))
        return []
    return sorted(set(value))


def _label(value: Any, path: str, what: str, errors: _Errors) -> tuple[str, str]:
    """A label: a string (both languages) or {"fr": ..., "en": ...} (one fills the other)."""
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return value.strip(), value.strip()
    if isinstance(value, Mapping) and value and set(value) <= {"fr", "en"} and all(
        isinstance(text, str) and text.strip() and len(text) <= 200 for text in value.values()
    ):
        fr = (value.get("fr") or value["en"]).strip()
        en = (value.get("en") or value["fr"]).strip()
        return fr, en
    errors.add(path, _("%(what)s is required: a string, or {\"fr\": ..., \"en\": ...} of "
                       "non-empty strings of at most 200 characters", what=what))
    return "", ""


# -- writing ------------------------------------------------------------------------


@dataclass
class _Counts:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTRY_KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTRY_KINDS, 0))

    def note(self, kind: str, created: bool, changed: bool) -> None:
        if created:
            self.created[kind] += 1
        elif changed:
            self.updated[kind] += 1


def _apply(parsed: _Parsed, existing: _Existing, hashes: dict[str, str],
           actor: User | None) -> ImportReport:
    counts = _Counts()
    units = _apply_units(parsed.units, existing, counts)
    _apply_categories(parsed.categories, existing, counts)
    _apply_labels(parsed.labels, existing, counts)
    _apply_users(parsed.users, existing, units, hashes, counts)
    org_changed = any(counts.created[kind] or counts.updated[kind]
                      for kind in ("units", "categories", "labels"))
    changed = org_changed or bool(counts.created["users"] or counts.updated["users"])
    db.session.flush()
    version = bump_org_version() if org_changed else current_org_version()
    report = ImportReport(
        **{f"{kind}_created": number for kind, number in counts.created.items()},
        **{f"{kind}_updated": number for kind, number in counts.updated.items()},
        changed=changed,
        org_version=version,
    )
    if changed:
        db.session.add(AuditEvent(
            actor_id=actor.id if actor is not None else None,
            type="org_import",
            subject="org",
            data={**report.counts(), "org_version": version},
        ))
    return report


def _apply_units(entries: list[_UnitEntry], existing: _Existing,
                 counts: _Counts) -> dict[str, Unit]:
    units = dict(existing.units)
    created: set[str] = set()
    for entry in entries:
        if entry.key not in units:
            units[entry.key] = Unit(key=entry.key, name=entry.name, competencies=[],
                                    authorities={}, tools=[])
            db.session.add(units[entry.key])
            created.add(entry.key)
    for entry in entries:
        unit = units[entry.key]
        changed = _set_if_different(unit, "name", entry.name)
        if entry.parent is not ABSENT:
            current = existing.parents.get(entry.key)
            if entry.key in created or current != entry.parent:
                unit.parent = units[entry.parent] if entry.parent is not None else None
                changed = True
        for set_field in ("competencies", "tools"):
            value = getattr(entry, set_field)
            if value is not ABSENT and set(value) != set(getattr(unit, set_field) or []):
                setattr(unit, set_field, value)
                changed = True
        if entry.authorities is not ABSENT:
            changed |= _set_if_different(unit, "authorities", entry.authorities)
        counts.note("units", entry.key in created, changed)
    return units


def _apply_categories(entries: list[_CategoryEntry], existing: _Existing,
                      counts: _Counts) -> None:
    for entry in entries:
        category = existing.categories.get(entry.key)
        created = category is None
        if category is None:
            category = Category(key=entry.key, label_fr=entry.label_fr, label_en=entry.label_en,
                                competency=entry.competency, authority=None, tools=[],
                                sla_hours={}, root_causes=[dict(c) for c in DEFAULT_ROOT_CAUSES])
            db.session.add(category)
        changed = False
        for name in ("label_fr", "label_en", "competency", "authority", "sla_hours",
                     "root_causes"):
            value = getattr(entry, name)
            if value is not ABSENT:
                changed |= _set_if_different(category, name, value)
        if entry.tools is not ABSENT and set(entry.tools) != set(category.tools or []):
            category.tools = entry.tools
            changed = True
        counts.note("categories", created, changed)


def _apply_labels(labels: dict[tuple[str, str], tuple[str, str]], existing: _Existing,
                  counts: _Counts) -> None:
    for (kind, key), (fr, en) in labels.items():
        label = existing.labels.get((kind, key))
        if label is None:
            db.session.add(VocabularyLabel(kind=kind, key=key, label_fr=fr, label_en=en))
            counts.note("labels", created=True, changed=True)
            continue
        changed = _set_if_different(label, "label_fr", fr)
        changed |= _set_if_different(label, "label_en", en)
        counts.note("labels", created=False, changed=changed)


def _apply_users(entries: list[_UserEntry], existing: _Existing, units: dict[str, Unit],
                 hashes: dict[str, str], counts: _Counts) -> None:
    for entry in entries:
        user = existing.users.get(entry.email)
        if user is None:
            db.session.add(User(email=entry.email, name=entry.name, role=entry.role,
                                unit=units[entry.unit], password_hash=hashes[entry.email]))
            counts.note("users", created=True, changed=True)
            continue
        changed = _set_if_different(user, "name", entry.name)
        changed |= _set_if_different(user, "role", entry.role)
        if user.unit_id != units[entry.unit].id:
            user.unit = units[entry.unit]
            changed = True
        counts.note("users", created=False, changed=changed)


def _set_if_different(row: Any, name: str, value: Any) -> bool:
    if getattr(row, name) == value:
        return False
    setattr(row, name, value)
    return True


def _is_common_password(password: str, email: str) -> bool:
    """The sign-in policy's list of common passwords, and the email itself."""
    from irritants.services.accounts import is_common_password

    return is_common_password(password) or password.lower() in {email, email.partition("@")[0]}


def _hash_password(password: str) -> str:
    """Argon2id, with the configured cost (accounts.py)."""
    from irritants.services.accounts import hash_password

    return hash_password(password)


# -- export ---------------------------------------------------------------------------


def export_org() -> dict[str, Any]:
    """The organisation in the import format, without passwords, in a stable order."""
    units = list(db.session.scalars(select(Unit)))
    key_of = {unit.id: unit.key for unit in units}
    users = db.session.scalars(select(User).order_by(func.lower(User.email)))
    return {
        "units": [_unit_out(unit, key_of) for unit in _tree_order(units, key_of)],
        "categories": [
            _category_out(category)
            for category in db.session.scalars(select(Category).order_by(Category.key))
        ],
        "users": [
            {"email": user.email, "name": user.name, "unit": key_of[user.unit_id],
             "role": user.role}
            for user in users
        ],
        "labels": _labels_out(),
    }


def _tree_order(units: list[Unit], key_of: dict[int, str]) -> list[Unit]:
    """Parents before children: depth first from the root, children by key."""
    children: dict[str | None, list[Unit]] = {}
    for unit in units:
        parent = key_of.get(unit.parent_id) if unit.parent_id is not None else None
        children.setdefault(parent, []).append(unit)
    ordered: list[Unit] = []
    stack = sorted(children.get(None, []), key=lambda unit: unit.key, reverse=True)
    while stack:
        unit = stack.pop()
        ordered.append(unit)
        stack.extend(sorted(children.get(unit.key, []), key=lambda u: u.key, reverse=True))
    return ordered


def _unit_out(unit: Unit, key_of: dict[int, str]) -> dict[str, Any]:
    return {
        "key": unit.key,
        "name": unit.name,
        "parent": key_of[unit.parent_id] if unit.parent_id is not None else None,
        "competencies": sorted(set(unit.competencies or [])),
        "authorities": dict(sorted((unit.authorities or {}).items())),
        "tools": sorted(set(unit.tools or [])),
    }


def _category_out(category: Category) -> dict[str, Any]:
    return {
        "key": category.key,
        "label": {"fr": category.label_fr, "en": category.label_en},
        "competency": category.competency,
        "authority": category.authority,
        "tools": sorted(set(category.tools or [])),
        "sla_hours": {s: category.sla_hours[s] for s in SEVERITIES if s in category.sla_hours},
        "root_causes": [dict(cause) for cause in category.root_causes or []],
    }


def _labels_out() -> dict[str, dict[str, dict[str, str]]]:
    sections: dict[str, dict[str, dict[str, str]]] = {section: {} for section in LABEL_SECTIONS}
    section_of = {kind: section for section, kind in LABEL_SECTIONS.items()}
    rows = db.session.scalars(
        select(VocabularyLabel).order_by(VocabularyLabel.kind, VocabularyLabel.key))
    for row in rows:
        if row.kind in section_of:
            sections[section_of[row.kind]][row.key] = {"fr": row.label_fr, "en": row.label_en}
    return sections
