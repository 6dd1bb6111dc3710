"""Editing the organisation by hand: units, their capabilities, the vocabularies, categories.

Every public write is one transaction: validate, write, bump the org version
once, record one AuditEvent (who, what, before and after), commit. A change
that changes nothing writes nothing: no bump, no event. Bad input raises
InvalidInput naming the field and the offending key, and nothing is written.

Capabilities and category requirements are chosen from the org's vocabularies:
the VocabularyLabel rows plus the keys units and categories already use. A key
outside them is refused (a typo must not create a tool); add_vocabulary_item()
is the one explicit way to create a new one.

Closing a unit keeps it and its history; routing leaves closed units out. A
unit can only be closed once nothing still depends on it: no open sub-unit, no
active user, no unresolved irritant assigned to it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import (
    SEVERITIES,
    UNRESOLVED,
    VOCABULARY_KINDS,
    AuditEvent,
    Category,
    Irritant,
    OrgState,
    Unit,
    User,
    VocabularyLabel,
    utcnow,
)
from irritants.services.errors import InvalidInput, NotFound
from irritants.services.messages import _, number, quoted
from irritants.services.org_admin import (
    DEFAULT_ROOT_CAUSES,
    KEY_PATTERN,
    MAX_LIMIT,
    MAX_SLA_HOURS,
)
from irritants.services.org_version import bump_org_version
from irritants.services.snapshot import cached_org
from irritants.services.text_search import contains_any_case
from irritants.services.transactions import one_transaction

MAX_NAME_LENGTH = 200
MAX_ROOT_CAUSES = 50


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """The number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page))


# -- transactions and audit ----------------------------------------------------------


_transaction = one_transaction(
    lambda: _("The organisation changed at the same time; try again."))


def _lock_org() -> None:
    """Serialise org edits on PostgreSQL (two crossed moves must not make a cycle)."""
    db.session.execute(select(OrgState.id).where(OrgState.id == 1).with_for_update())


def _org_changed(actor: User | None, type_: str, subject: str,
                 before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Bump the org version once and record the change; returns the new version."""
    version = bump_org_version()
    record(actor, type_, subject, before=before, after=after, org_version=version)
    return version


def record(actor: User | None, type_: str, subject: str, *, before: dict[str, Any] | None,
           after: dict[str, Any] | None, **extra: Any) -> AuditEvent:
    """Add an AuditEvent to the current transaction (the caller commits)."""
    data: dict[str, Any] = {"before": before, "after": after, **extra}
    event = AuditEvent(actor_id=actor.id if actor is not None else None, type=type_,
                       subject=subject, data=data)
    db.session.add(event)
    return event


# -- small validators ------------------------------------------------------------------


def _name(value: Any, field: str, errors: dict[str, list[str]]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(text) > MAX_NAME_LENGTH:
        errors.setdefault(field, []).append(
            _("At most %(count)d characters.", count=MAX_NAME_LENGTH))
    return text


def _is_slug(value: Any) -> bool:
    return isinstance(value, str) and KEY_PATTERN.fullmatch(value) is not None


def _slug_error(value: Any) -> str:
    return _("%(key)s is not a valid key: use lowercase letters, digits, '-' and '_' "
             "(at most 100 characters).", key=quoted(value))


def _plain_limit(value: Any) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # type: ignore[no-any-return]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return math.isfinite(value)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidInput(errors)


# -- units -------------------------------------------------------------------------------


def get_unit(key: str) -> Unit:
    """The unit with this key; raises NotFound."""
    unit = db.session.scalar(select(Unit).where(Unit.key == key)) if isinstance(key, str) else None
    if unit is None:
        raise NotFound(_("Unknown unit %(key)s.", key=quoted(key)))
    return unit


def _unit_or_error(key: Any, field: str, errors: dict[str, list[str]]) -> Unit | None:
    unit = db.session.scalar(select(Unit).where(Unit.key == key)) if isinstance(key, str) else None
    if unit is None:
        errors.setdefault(field, []).append(_("Unknown unit %(key)s.", key=quoted(key)))
    return unit


def _key_of(unit: Unit | None) -> str | None:
    return unit.key if unit is not None else None


def _is_root(unit: Unit) -> bool:
    return unit.parent_id is None


@_transaction
def create_unit(key: str, name: str, parent: str | None, *, actor: User | None) -> Unit:
    """Create an open unit without capabilities under `parent`; raises InvalidInput."""
    _lock_org()
    errors: dict[str, list[str]] = {}
    if not _is_slug(key):
        errors["key"] = [_slug_error(key)]
    elif db.session.scalar(select(Unit.id).where(Unit.key == key)) is not None:
        errors["key"] = [_("A unit with the key %(key)s already exists.", key=quoted(key))]
    name = _name(name, "name", errors)
    parent_unit = None
    if parent in (None, ""):
        if db.session.scalar(select(Unit.id).limit(1)) is not None:
            errors["parent"] = [_("Choose the parent unit: the organisation already has "
                                  "its root.")]
    else:
        parent_unit = _unit_or_error(parent, "parent", errors)
        if parent_unit is not None and parent_unit.closed_at is not None:
            errors["parent"] = [_("Unit %(key)s is closed: it cannot receive a new unit.",
                                  key=quoted(parent))]
    _raise_if(errors)
    unit = Unit(key=key, name=name, parent=parent_unit, competencies=[], authorities={},
                tools=[])
    db.session.add(unit)
    db.session.flush()
    _org_changed(actor, "unit_created", key, None,
                 {"key": key, "name": name, "parent": _key_of(parent_unit)})
    return unit


@_transaction
def rename_unit(key: str, name: str, *, actor: User | None) -> Unit:
    """Give the unit a new name; raises NotFound or InvalidInput."""
    return _update_unit(key, name=name, parent=None, actor=actor)


@_transaction
def move_unit(key: str, parent: str, *, actor: User | None) -> Unit:
    """Move the unit and its whole subtree under `parent`; refuses the root and cycles."""
    if parent is None:
        raise InvalidInput({"parent": [_("This field is required.")]})
    return _update_unit(key, name=None, parent=parent, actor=actor)


@_transaction
def update_unit(key: str, *, name: str | None, parent: str | None,
                actor: User | None) -> Unit:
    """Rename and/or move the unit (None: unchanged) as one change; raises InvalidInput."""
    return _update_unit(key, name=name, parent=parent, actor=actor)


def _update_unit(key: str, *, name: str | None, parent: str | None,
                 actor: User | None) -> Unit:
    _lock_org()
    unit = get_unit(key)
    errors: dict[str, list[str]] = {}
    new_name = _name(name, "name", errors) if name is not None else unit.name
    new_parent = unit.parent
    if parent is not None and parent != _key_of(unit.parent):
        new_parent = _new_parent(unit, parent, errors)
    _raise_if(errors)
    before, after = {}, {}
    if new_name != unit.name:
        before["name"], after["name"] = unit.name, new_name
        unit.name = new_name
    if new_parent is not unit.parent:
        before["parent"], after["parent"] = _key_of(unit.parent), _key_of(new_parent)
        unit.parent = new_parent
    if after:
        db.session.flush()
        type_ = ("unit_changed" if len(after) == 2
                 else "unit_moved" if "parent" in after else "unit_renamed")
        _org_changed(actor, type_, key, before, after)
    return unit


def _new_parent(unit: Unit, parent: str, errors: dict[str, list[str]]) -> Unit | None:
    """The unit's new parent, or None with an error: the root stays, no cycle, open parent."""
    key = unit.key
    if _is_root(unit):
        errors["parent"] = [_("Unit %(key)s is the root of the organisation: it cannot be "
                              "moved.", key=quoted(key))]
        return None
    new_parent = _unit_or_error(parent, "parent", errors)
    if new_parent is None:
        return None
    if new_parent.closed_at is not None:
        errors["parent"] = [_("Unit %(key)s is closed: it cannot receive a unit.",
                              key=quoted(parent))]
    elif unit.id in _ancestor_ids(new_parent):
        errors["parent"] = [_("Moving %(key)s under %(parent)s would make a cycle: "
                              "%(parent)s is %(key)s itself or one of its sub-units.",
                              key=quoted(key), parent=quoted(parent))]
    return new_parent


def _ancestor_ids(unit: Unit) -> list[int]:
    """The unit's id and those of its ancestors, up to the root."""
    ids: list[int] = []
    current: int | None = unit.id
    while current is not None and current not in ids:
        ids.append(current)
        current = db.session.scalar(select(Unit.parent_id).where(Unit.id == current))
    return ids


@_transaction
def close_unit(key: str, *, actor: User | None, now: datetime | None = None) -> Unit:
    """Close the unit (routing leaves it out, its history stays); raises InvalidInput."""
    _lock_org()
    unit = get_unit(key)
    if unit.closed_at is not None:
        return unit
    problems = _closing_problems(unit)
    _raise_if({"unit": problems} if problems else {})
    unit.closed_at = now or utcnow()
    _org_changed(actor, "unit_closed", key, {"closed": False}, {"closed": True})
    return unit


def _closing_problems(unit: Unit) -> list[str]:
    if _is_root(unit):
        return [_("Unit %(key)s is the root of the organisation: it cannot be closed.",
                  key=quoted(unit.key))]
    problems = []
    open_children = db.session.scalars(
        select(Unit.key).where(Unit.parent_id == unit.id, Unit.closed_at.is_(None))
        .order_by(Unit.key)).all()
    if open_children:
        problems.append(_("Unit %(key)s still has open sub-units (%(units)s): close or move "
                          "them first.", key=quoted(unit.key), units=_listed(open_children)))
    users = db.session.scalars(
        select(User.email).where(User.unit_id == unit.id, User.is_active_account.is_(True))
        .order_by(User.email)).all()
    if users:
        problems.append(_("Unit %(key)s still has active users (%(users)s): move or "
                          "deactivate them first.", key=quoted(unit.key), users=_listed(users)))
    unresolved = db.session.scalar(
        select(func.count()).select_from(Irritant)
        .where(Irritant.assignee_id == unit.id, Irritant.status.in_(UNRESOLVED)))
    if unresolved:
        problems.append(_("Unit %(key)s still has %(count)d unresolved irritants assigned: "
                          "resolve or reassign them first.", key=quoted(unit.key),
                          count=unresolved))
    return problems


def _listed(keys: Sequence[str], shown: int = 5) -> str:
    text = ", ".join(keys[:shown])
    return text + (f", … (+{len(keys) - shown})" if len(keys) > shown else "")


@_transaction
def reopen_unit(key: str, *, actor: User | None) -> Unit:
    """Open a closed unit again (its parent must be open); raises InvalidInput."""
    _lock_org()
    unit = get_unit(key)
    if unit.closed_at is None:
        return unit
    if unit.parent is not None and unit.parent.closed_at is not None:
        raise InvalidInput({"unit": [_("Its parent %(parent)s is closed: reopen it first.",
                                       parent=quoted(unit.parent.key))]})
    unit.closed_at = None
    _org_changed(actor, "unit_reopened", key, {"closed": True}, {"closed": False})
    return unit


@_transaction
def set_unit_capabilities(unit_key: str, *, competencies: Iterable[str], tools: Iterable[str],
                          authorities: Mapping[str, Any], actor: User | None) -> Unit:
    """Replace the unit's competencies, tools and authority limits (None: unlimited).

    Every key must be in the org's vocabularies; raises NotFound or InvalidInput.
    """
    _lock_org()
    unit = get_unit(unit_key)
    errors: dict[str, list[str]] = {}
    chosen = {
        "competency": sorted(set(competencies)),
        "tool": sorted(set(tools)),
        "authority": sorted(authorities),
    }
    _check_known(chosen, errors)
    limits: dict[str, Any] = {}
    for authority, limit in sorted(authorities.items()):
        if limit is None:
            limits[authority] = None
        elif not _is_number(limit) or limit < 0 or limit > MAX_LIMIT:
            errors.setdefault(f"authorities.{authority}", []).append(
                _("The limit of %(key)s must be a number >= 0 (at most %(max)s), or empty "
                  "for unlimited.", key=quoted(authority), max=number(MAX_LIMIT)))
        else:
            limits[authority] = _plain_limit(limit)
    _raise_if(errors)
    before = _capabilities(unit)
    after = {"competencies": chosen["competency"], "tools": chosen["tool"],
             "authorities": limits}
    if before != after:
        unit.competencies, unit.tools, unit.authorities = (
            after["competencies"], after["tools"], after["authorities"])
        _org_changed(actor, "unit_capabilities_changed", unit_key, before, after)
    return unit


def _capabilities(unit: Unit) -> dict[str, Any]:
    return {
        "competencies": sorted(set(unit.competencies or [])),
        "tools": sorted(set(unit.tools or [])),
        "authorities": {key: _plain_limit(limit) if limit is not None else None
                        for key, limit in sorted((unit.authorities or {}).items())},
    }


# -- vocabularies ------------------------------------------------------------------------

FIELD_OF_KIND = {"competency": "competencies", "tool": "tools", "authority": "authorities"}


@dataclass(frozen=True)
class VocabularyItem:
    """A competency, authority or tool key of the org, its labels and how much it is used."""

    kind: str
    key: str
    label_fr: str | None
    label_en: str | None
    units: int
    categories: int

    def label(self, locale: str) -> str:
        """The label in that language, the other one, else the key."""
        first, second = ((self.label_en, self.label_fr) if locale == "en"
                         else (self.label_fr, self.label_en))
        return first or second or self.key


def _unknown_message(kind: str, key: str) -> str:
    messages = {
        "competency": _("Unknown competency %(key)s: choose one of the organisation's "
                        "competencies, or add it to the vocabulary first.", key=quoted(key)),
        "tool": _("Unknown tool %(key)s: choose one of the organisation's tools, or add it "
                  "to the vocabulary first.", key=quoted(key)),
        "authority": _("Unknown authority %(key)s: choose one of the organisation's "
                       "authorities, or add it to the vocabulary first.", key=quoted(key)),
    }
    return messages[kind]


def _check_known(chosen: Mapping[str, Iterable[str]], errors: dict[str, list[str]],
                 fields: Mapping[str, str] = FIELD_OF_KIND) -> None:
    """Add an error per key that is in none of the org's vocabularies."""
    wanted = {(kind, key) for kind, keys in chosen.items() for key in keys}
    if not wanted:
        return
    labelled = set(db.session.execute(select(VocabularyLabel.kind, VocabularyLabel.key)).all())
    unknown = {pair for pair in wanted if pair not in labelled}
    if unknown:
        # Only when a key has no label: scanning every unit is the slower path.
        used = _used_keys()
        unknown = {(kind, key) for kind, key in unknown if key not in used[kind]}
    for kind, key in sorted(unknown):
        errors.setdefault(fields[kind], []).append(_unknown_message(kind, key))


_used_cache: tuple[tuple[str, int], dict[str, Counter[str]]] | None = None


def _used_keys() -> dict[str, Counter[str]]:
    """kind -> key -> the number of units using it (closed ones too).

    Read from the routing snapshot (cached per org version), not by decoding
    every unit's JSON: 10,000 units would cost most of a second per request.
    """
    global _used_cache
    org = cached_org()
    cache_key = (org.database, org.version)
    if _used_cache is not None and _used_cache[0] == cache_key:
        return _used_cache[1]
    used: dict[str, Counter[str]] = {kind: Counter() for kind in VOCABULARY_KINDS}
    snapshot = org.snapshot
    for key in snapshot.keys():  # noqa: SIM118 (a snapshot, not a dict)
        unit = snapshot.unit(key)
        used["competency"].update(unit.competencies)
        used["tool"].update(unit.tools)
        used["authority"].update(unit.authorities.keys())
    _used_cache = (cache_key, used)
    return used


def _category_keys() -> dict[str, Counter[str]]:
    used: dict[str, Counter[str]] = {kind: Counter() for kind in VOCABULARY_KINDS}
    for competency, authority, tools in db.session.execute(
            select(Category.competency, Category.authority, Category.tools)):
        used["competency"][competency] += 1
        if authority:
            used["authority"][authority] += 1
        used["tool"].update(set(tools or []))
    return used


def vocabularies() -> dict[str, list[VocabularyItem]]:
    """Every kind's items (labelled or used by a unit or a category), sorted by key."""
    labels = {(row.kind, row.key): row for row in db.session.scalars(select(VocabularyLabel))}
    by_units, by_categories = _used_keys(), _category_keys()
    result: dict[str, list[VocabularyItem]] = {}
    for kind in VOCABULARY_KINDS:
        keys = ({key for label_kind, key in labels if label_kind == kind}
                | set(by_units[kind]) | set(by_categories[kind]))
        result[kind] = [
            VocabularyItem(
                kind=kind, key=key,
                label_fr=labels[(kind, key)].label_fr if (kind, key) in labels else None,
                label_en=labels[(kind, key)].label_en if (kind, key) in labels else None,
                units=by_units[kind][key], categories=by_categories[kind][key],
            )
            for key in sorted(keys)
        ]
    return result


def _vocabulary_labels(label_fr: Any, label_en: Any,
                       errors: dict[str, list[str]]) -> tuple[str, str]:
    return _name(label_fr, "label_fr", errors), _name(label_en, "label_en", errors)


@_transaction
def add_vocabulary_item(kind: str, key: str, label_fr: str, label_en: str, *,
                        actor: User | None) -> VocabularyLabel:
    """Add a new competency, authority or tool to the org's vocabulary; raises InvalidInput."""
    _lock_org()
    errors: dict[str, list[str]] = {}
    if kind not in VOCABULARY_KINDS:
        errors["kind"] = [_("Choose competency, authority or tool.")]
    if not _is_slug(key):
        errors["key"] = [_slug_error(key)]
    fr, en = _vocabulary_labels(label_fr, label_en, errors)
    _raise_if(errors)
    exists = db.session.scalar(select(VocabularyLabel.id).where(
        VocabularyLabel.kind == kind, VocabularyLabel.key == key)) is not None
    if exists or key in _used_keys()[kind] or key in _category_keys()[kind]:
        raise InvalidInput({"key": [_("%(key)s is already in the vocabulary: edit its labels "
                                      "instead.", key=quoted(key))]})
    item = VocabularyLabel(kind=kind, key=key, label_fr=fr, label_en=en)
    db.session.add(item)
    db.session.flush()
    _org_changed(actor, "vocabulary_item_added", f"{kind}:{key}", None,
                 {"kind": kind, "key": key, "label_fr": fr, "label_en": en})
    return item


@_transaction
def relabel_vocabulary_item(kind: str, key: str, label_fr: str, label_en: str, *,
                            actor: User | None) -> VocabularyLabel:
    """Set the French and English labels of an existing vocabulary key; raises NotFound."""
    _lock_org()
    errors: dict[str, list[str]] = {}
    fr, en = _vocabulary_labels(label_fr, label_en, errors)
    _raise_if(errors)
    item = db.session.scalar(select(VocabularyLabel).where(
        VocabularyLabel.kind == kind, VocabularyLabel.key == key))
    if item is None:
        if kind not in VOCABULARY_KINDS or (
                key not in _used_keys()[kind] and key not in _category_keys()[kind]):
            raise NotFound(_("%(key)s is not in the vocabulary.", key=quoted(key)))
        item = VocabularyLabel(kind=kind, key=key, label_fr=fr, label_en=en)
        db.session.add(item)
        before = None
    else:
        before = {"label_fr": item.label_fr, "label_en": item.label_en}
        if before == {"label_fr": fr, "label_en": en}:
            return item
        item.label_fr, item.label_en = fr, en
    db.session.flush()
    _org_changed(actor, "vocabulary_item_relabelled", f"{kind}:{key}", before,
                 {"label_fr": fr, "label_en": en})
    return item


# -- categories ----------------------------------------------------------------------------


def get_category(key: str) -> Category:
    """The category with this key; raises NotFound."""
    category = (db.session.scalar(select(Category).where(Category.key == key))
                if isinstance(key, str) else None)
    if category is None:
        raise NotFound(_("Unknown category %(key)s.", key=quoted(key)))
    return category


def _category_values(label_fr: Any, label_en: Any, competency: Any, authority: Any,
                     tools: Iterable[str], sla_hours: Mapping[str, Any] | None,
                     root_causes: Sequence[Mapping[str, str]] | None,
                     active: bool) -> dict[str, Any]:
    """The validated fields of a category; raises InvalidInput."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "label_fr": _name(label_fr, "label_fr", errors),
        "label_en": _name(label_en, "label_en", errors),
        "competency": competency,
        "authority": authority or None,
        "tools": sorted(set(tools)),
        "sla_hours": _sla_hours(sla_hours or {}, errors),
        "root_causes": _root_causes(root_causes, errors),
        "active": bool(active),
    }
    if not isinstance(competency, str) or not competency:
        errors.setdefault("competency", []).append(_("This field is required."))
        competency_keys: list[str] = []
    else:
        competency_keys = [competency]
    _check_known(
        {"competency": competency_keys,
         "authority": [values["authority"]] if values["authority"] else [],
         "tool": values["tools"]},
        errors, {"competency": "competency", "authority": "authority", "tool": "tools"})
    _raise_if(errors)
    return values


def _sla_hours(raw: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    hours: dict[str, Any] = {}
    for severity, value in raw.items():
        if severity not in SEVERITIES:
            errors.setdefault("sla_hours", []).append(
                _("Unknown severity %(key)s.", key=quoted(severity)))
        elif value is None:
            continue
        elif not _is_number(value) or not 0 < value <= MAX_SLA_HOURS:
            errors.setdefault(f"sla_hours.{severity}", []).append(
                _("Hours must be a number > 0 (at most %(max)s), or empty for the default.",
                  max=number(MAX_SLA_HOURS)))
        else:
            hours[severity] = _plain_limit(value)
    return {severity: hours[severity] for severity in SEVERITIES if severity in hours}


def _root_causes(raw: Sequence[Mapping[str, str]] | None,
                 errors: dict[str, list[str]]) -> list[dict[str, str]]:
    if raw is None:
        return [dict(cause) for cause in DEFAULT_ROOT_CAUSES]
    causes: list[dict[str, str]] = []
    for cause in raw:
        key = cause.get("key")
        fr = (cause.get("fr") or "").strip()
        en = (cause.get("en") or "").strip() or fr
        if not _is_slug(key):
            errors.setdefault("root_causes", []).append(_slug_error(key))
        elif any(existing["key"] == key for existing in causes):
            errors.setdefault("root_causes", []).append(
                _("Root cause %(key)s is listed twice.", key=quoted(key)))
        elif not fr or len(fr) > MAX_NAME_LENGTH or len(en) > MAX_NAME_LENGTH:
            errors.setdefault("root_causes", []).append(
                _("Root cause %(key)s needs a French label (at most %(count)d characters).",
                  key=quoted(key), count=MAX_NAME_LENGTH))
        else:
            causes.append({"key": key, "fr": fr, "en": en})
    if not causes and "root_causes" not in errors:
        errors["root_causes"] = [_("Give at least one root cause.")]
    elif len(causes) > MAX_ROOT_CAUSES:
        errors.setdefault("root_causes", []).append(
            _("At most %(count)d root causes.", count=MAX_ROOT_CAUSES))
    return causes


CATEGORY_FIELDS = ("label_fr", "label_en", "competency", "authority", "tools", "sla_hours",
                   "root_causes", "active")


def _category_state(category: Category) -> dict[str, Any]:
    return {
        "label_fr": category.label_fr,
        "label_en": category.label_en,
        "competency": category.competency,
        "authority": category.authority,
        "tools": sorted(set(category.tools or [])),
        "sla_hours": {s: category.sla_hours[s] for s in SEVERITIES
                      if s in (category.sla_hours or {})},
        "root_causes": [dict(cause) for cause in category.root_causes or []],
        "active": category.active,
    }


@_transaction
def create_category(key: str, *, label_fr: str, label_en: str, competency: str,
                    authority: str | None = None, tools: Iterable[str] = (),
                    sla_hours: Mapping[str, Any] | None = None,
                    root_causes: Sequence[Mapping[str, str]] | None = None,
                    active: bool = True, actor: User | None) -> Category:
    """Create a category (default root causes when none are given); raises InvalidInput."""
    _lock_org()
    key_errors: dict[str, list[str]] = {}
    if not _is_slug(key):
        key_errors["key"] = [_slug_error(key)]
    elif db.session.scalar(select(Category.id).where(Category.key == key)) is not None:
        key_errors["key"] = [_("A category with the key %(key)s already exists.",
                               key=quoted(key))]
    try:
        values = _category_values(label_fr, label_en, competency, authority, tools, sla_hours,
                                  root_causes, active)
    except InvalidInput as error:
        raise InvalidInput({**key_errors, **error.field_errors}) from None
    _raise_if(key_errors)
    category = Category(key=key, **values)
    db.session.add(category)
    db.session.flush()
    _org_changed(actor, "category_created", key, None, _category_state(category))
    return category


@_transaction
def update_category(key: str, *, label_fr: str, label_en: str, competency: str,
                    authority: str | None, tools: Iterable[str],
                    sla_hours: Mapping[str, Any] | None,
                    root_causes: Sequence[Mapping[str, str]], active: bool,
                    actor: User | None) -> Category:
    """Replace the category's fields; raises NotFound or InvalidInput."""
    _lock_org()
    category = get_category(key)
    values = _category_values(label_fr, label_en, competency, authority, tools, sla_hours,
                              root_causes, active)
    before = _category_state(category)
    if before != values:
        for name, value in values.items():
            setattr(category, name, value)
        db.session.flush()
        changed = sorted(name for name in CATEGORY_FIELDS if before[name] != values[name])
        _org_changed(actor, "category_changed", key,
                     {name: before[name] for name in changed},
                     {name: values[name] for name in changed})
    return category


# -- reading, for the admin pages ----------------------------------------------------------


@dataclass(frozen=True)
class UnitSummary:
    """A unit as the lists show it."""

    key: str
    name: str
    parent: str | None
    closed: bool
    children: int
    users: int
    unresolved: int


def _summaries(units: Sequence[Unit]) -> list[UnitSummary]:
    """Counts for one page of units, three grouped queries."""
    ids = [unit.id for unit in units]
    if not ids:
        return []
    children = dict(db.session.execute(
        select(Unit.parent_id, func.count()).where(Unit.parent_id.in_(ids))
        .group_by(Unit.parent_id)).tuples().all())
    users = dict(db.session.execute(
        select(User.unit_id, func.count()).where(User.unit_id.in_(ids),
                                                 User.is_active_account.is_(True))
        .group_by(User.unit_id)).tuples().all())
    unresolved = dict(db.session.execute(
        select(Irritant.assignee_id, func.count())
        .where(Irritant.assignee_id.in_(ids), Irritant.status.in_(UNRESOLVED))
        .group_by(Irritant.assignee_id)).tuples().all())
    return [
        UnitSummary(key=unit.key, name=unit.name, parent=_key_of(unit.parent),
                    closed=unit.closed_at is not None, children=children.get(unit.id, 0),
                    users=users.get(unit.id, 0), unresolved=unresolved.get(unit.id, 0))
        for unit in units
    ]


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    return max(1, page), min(max(1, per_page), 500)


def search_units(query: str = "", *, page: int = 1, per_page: int = 50) -> Page:
    """Units whose key or name contains `query` (any case), by key, one page of summaries."""
    page, per_page = _page_bounds(page, per_page)
    statement = select(Unit)
    text = (query or "").strip().lower()
    if text:
        statement = statement.where(contains_any_case(text, Unit.key, Unit.name))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    units = db.session.scalars(
        statement.options(selectinload(Unit.parent)).order_by(Unit.key)
        .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(_summaries(units), page, per_page, total)


def children_of(key: str | None, *, page: int = 1, per_page: int = 100) -> Page:
    """The sub-units of a unit (the root itself when key is None), by key; raises NotFound."""
    page, per_page = _page_bounds(page, per_page)
    condition = Unit.parent_id.is_(None) if key is None else Unit.parent_id == get_unit(key).id
    total = db.session.scalar(select(func.count()).select_from(Unit).where(condition)) or 0
    units = db.session.scalars(
        select(Unit).where(condition).options(selectinload(Unit.parent)).order_by(Unit.key)
        .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(_summaries(units), page, per_page, total)


def unit_summary(key: str) -> UnitSummary:
    """One unit's summary; raises NotFound."""
    return _summaries([get_unit(key)])[0]


def ancestors_of(unit: Unit) -> list[Unit]:
    """The unit's ancestors, root first (for breadcrumbs)."""
    chain: list[Unit] = []
    current = unit.parent
    while current is not None and current not in chain:
        chain.append(current)
        current = current.parent
    return list(reversed(chain))


def list_categories() -> list[Category]:
    """Every category, active first, then by key."""
    return list(db.session.scalars(
        select(Category).order_by(Category.active.desc(), Category.key)))


def audit_trail(*, page: int = 1, per_page: int = 50) -> Page:
    """The audit events, newest first."""
    page, per_page = _page_bounds(page, per_page)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    events = db.session.scalars(
        select(AuditEvent).options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(events), page, per_page, total)
