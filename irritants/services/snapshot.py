"""The only bridge from the database to the routing core: rows -> OrgSnapshot.

The snapshot is built once per process and org version (OrgState.version,
bumped by every org change), so web processes and workers never route on a
stale org and never rebuild it per request: one cheap query per call.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from irritants.extensions import db
from irritants.models import UNRESOLVED, Category, Irritant, OrgState, Unit
from irritants.routing import OrgSnapshot
from irritants.routing import Unit as RoutingUnit
from irritants.services.org_version import current_org_version


@dataclass(frozen=True)
class CachedCategory:
    """What logging needs of a category (categories are org changes: every change of one
    bumps the org version), so that a logging does not read its category row."""

    id: int
    key: str
    active: bool
    competency: str
    authority: str | None
    tools: tuple[str, ...]
    sla_hours: Mapping[str, Any]


@dataclass(frozen=True)
class CachedOrg:
    """A snapshot with what the services need beside it: ids, names, closed units, and
    the categories by key."""

    snapshot: OrgSnapshot
    database: str
    id_of: Mapping[str, int]
    key_of: Mapping[int, str]
    closed: frozenset[str]
    categories: Mapping[str, CachedCategory]
    category_key_of: Mapping[int, str]

    @property
    def version(self) -> int:
        return self.snapshot.version


_lock = threading.Lock()
_cached: CachedOrg | None = None


def plain_amount(value: Any) -> Any:
    """An amount as the core and JSON want it: int when integral, else float."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_SESSION_KEY = "irritants.cached_org"


def cached_org() -> CachedOrg:
    """The org of the current version, built at most once per process and version.

    The version is read once per database transaction (then remembered in the
    session until the transaction ends), so a page that asks many times pays once.
    """
    session = db.session()
    remembered = session.info.get(_SESSION_KEY)
    if remembered is not None:
        return remembered  # type: ignore[no-any-return]
    found = _current()
    session.info[_SESSION_KEY] = found
    return found


def _current() -> CachedOrg:
    global _cached
    version = current_org_version()
    database = str(db.engine.url)
    cached = _cached
    if cached is not None and cached.version == version and cached.database == database:
        return cached
    with _lock:
        cached = _cached
        if cached is None or cached.version != version or cached.database != database:
            cached = _build(version, database)
            _cached = cached
            _out_of_garbage_collections()
    return cached


def _out_of_garbage_collections() -> None:
    """Freeze what the process holds now, the new org included, so that Python's full
    garbage collections stop walking it (10,000 units: a 120 ms pause every few hundred
    requests). Unfrozen and collected first, so that what became garbage since the last
    freeze (the previous org, its cycles if any) is freed, not kept. Once per org version
    and process; off in the test suite, whose orgs change at every test."""
    if not current_app.config.get("FREEZE_ORG_SNAPSHOT"):
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    # Only when the database transaction ends: every flush opens and closes a
    # subtransaction, which must not cost another version query (bump_org_version
    # forgets it itself).
    if transaction.parent is None:
        session.info.pop(_SESSION_KEY, None)


def version_column() -> Any:
    """The org version as a scalar subquery, to read along with a request's first query."""
    return _VERSION


def note_version(version: int | None) -> None:
    """The org version read by this transaction's first query (version_column()): the
    transaction's first cached_org() then costs no query of its own."""
    session = db.session()
    if _SESSION_KEY in session.info:
        return
    version = version or 0
    cached = _cached
    database = str(db.engine.url)
    if cached is not None and cached.version == version and cached.database == database:
        session.info[_SESSION_KEY] = cached


def forget_in_session() -> None:
    """Read the org version again at the next call in this transaction (after a bump)."""
    db.session().info.pop(_SESSION_KEY, None)


def _build(version: int, database: str) -> CachedOrg:
    rows = db.session.execute(
        select(Unit.id, Unit.key, Unit.name, Unit.parent_id, Unit.competencies,
               Unit.authorities, Unit.tools, Unit.closed_at)
    ).all()
    key_of = {row.id: row.key for row in rows}
    units = [
        RoutingUnit(
            key=row.key,
            name=row.name,
            parent=key_of.get(row.parent_id) if row.parent_id is not None else None,
            competencies=frozenset(row.competencies or ()),
            authorities={
                key: plain_amount(limit) for key, limit in (row.authorities or {}).items()
            },
            tools=frozenset(row.tools or ()),
        )
        for row in rows
    ]
    closed = frozenset(row.key for row in rows if row.closed_at is not None)
    categories = _categories()
    return CachedOrg(
        snapshot=OrgSnapshot.build(units, version=version),
        database=database,
        id_of={key: unit_id for unit_id, key in key_of.items()},
        key_of=key_of,
        closed=closed,
        categories=categories,
        category_key_of={category.id: key for key, category in categories.items()},
    )


def _categories() -> dict[str, CachedCategory]:
    rows = db.session.execute(
        select(Category.id, Category.key, Category.active, Category.competency,
               Category.authority, Category.tools, Category.sla_hours)
    ).all()
    return {
        row.key: CachedCategory(
            id=row.id, key=row.key, active=row.active, competency=row.competency,
            authority=row.authority, tools=tuple(row.tools or ()),
            sla_hours=dict(row.sla_hours or {}),
        )
        for row in rows
    }


def unit_keys() -> Mapping[int, str]:
    """Unit id -> key, without a version query when an org is already cached.

    A unit's key never changes and units are never deleted, so the map of any
    version is right for the ids it holds; callers fall back to the unit's row
    for an id it does not know (a unit created since).
    """
    return _any_cached_org().key_of


def category_keys() -> Mapping[int, str]:
    """Category id -> key, as unit_keys(): a category's key never changes and categories
    are never deleted; callers fall back to the row for an id it does not know."""
    return _any_cached_org().category_key_of


def _any_cached_org() -> CachedOrg:
    """This transaction's org, else the process's of any version, else the current one."""
    remembered = db.session().info.get(_SESSION_KEY)
    if remembered is None:
        cached = _cached
        if cached is not None and cached.database == str(db.engine.url):
            remembered = cached
    return remembered or cached_org()  # type: ignore[no-any-return]


def load_snapshot() -> OrgSnapshot:
    """The org snapshot of the current version (cached per process)."""
    return cached_org().snapshot


def invalidate() -> None:
    """Forget the cached snapshot (tests that empty the database call this)."""
    global _cached
    with _lock:
        _cached = None
    from flask import has_app_context

    if has_app_context():
        db.session().info.pop(_SESSION_KEY, None)


_irritants = Irritant.__table__
# Built once, a Core statement: asked on the path of many loggings.
_OPEN_LOAD = (select(_irritants.c.assignee_id, func.count())
              .where(_irritants.c.assignee_id.in_(bindparam("ids", expanding=True)),
                     _irritants.c.status.in_(UNRESOLVED))
              .group_by(_irritants.c.assignee_id))
_VERSION = select(OrgState.version).where(OrgState.id == 1).scalar_subquery()


def open_load(keys: Collection[str]) -> dict[str, int]:
    """Unresolved irritants assigned to each of these units (asked for tied keys only)."""
    org = cached_org()
    ids = [org.id_of[key] for key in keys if key in org.id_of]
    if not ids:
        return {}
    rows = db.session.execute(_OPEN_LOAD, {"ids": ids}).all()
    return {org.key_of[assignee_id]: count for assignee_id, count in rows}
