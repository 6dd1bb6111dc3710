"""Root causes: the irritants logged in a period grouped by root cause, category, origin
or assignee, the irritants behind a figure, and the labels of the keys shown.

On PostgreSQL both are index-only scans of ix_irritant_created, which carries their
columns; SQLite counts the rows themselves: same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import UNRESOLVED, Category, Irritant, Unit, User, VocabularyLabel, utcnow
from irritants.services.dashboards.common import (
    Period,
    Table,
    _aware,
    _epoch,
    _id_of,
    _page,
    _require_director,
    _unit_ids,
    readable_subtree,
)
from irritants.services.errors import InvalidInput
from irritants.services.messages import _
from irritants.services.snapshot import CachedOrg, cached_org

GROUPINGS = ("root_cause", "category", "origin", "assignee")
STATUS_FILTERS = ("open", "in_progress", "resolved", "unresolved")
NO_ROOT_CAUSE = "none"
"""The filter value of irritants without a root cause (not resolved yet)."""


@dataclass(frozen=True)
class Filters:
    """Drill-down filters: keys, not ids; unknown keys match nothing."""

    category: str | None = None
    root_cause: str | None = None
    origin: str | None = None
    assignee: str | None = None
    status: str | None = None
    overdue: bool = False
    unroutable: bool = False

    def as_args(self) -> dict[str, str]:
        """The non-empty filters as query-string arguments."""
        args = {name: value for name in ("category", "root_cause", "origin", "assignee", "status")
                if (value := getattr(self, name))}
        if self.overdue:
            args["overdue"] = "1"
        if self.unroutable:
            args["unroutable"] = "1"
        return args


def _irritant_conditions(org: CachedOrg, period: Period, subtree: str, filters: Filters,
                         now: datetime) -> list[Any]:
    """The irritants logged in the period, originating in the subtree, and the filters."""
    conditions: list[Any] = [Irritant.created_at >= period.since,
                             Irritant.created_at < period.until]
    ids = _unit_ids(org, subtree)
    if ids is not None:
        conditions.append(Irritant.origin_unit_id.in_(ids))
    if filters.category:
        category_id = db.session.scalar(select(Category.id).where(
            Category.key == filters.category))
        conditions.append(Irritant.category_id == (category_id or -1))
    if filters.root_cause == NO_ROOT_CAUSE:
        conditions.append(Irritant.root_cause.is_(None))
    elif filters.root_cause:
        conditions.append(Irritant.root_cause == filters.root_cause)
    if filters.origin:
        conditions.append(Irritant.origin_unit_id == _id_of(org, filters.origin))
    if filters.assignee:
        conditions.append(Irritant.assignee_id == _id_of(org, filters.assignee))
    if filters.status == "unresolved":
        conditions.append(Irritant.status.in_(UNRESOLVED))
    elif filters.status:
        conditions.append(Irritant.status == filters.status)
    if filters.overdue:
        conditions += [Irritant.status.in_(UNRESOLVED), Irritant.due_at < now]
    if filters.unroutable:
        conditions.append(Irritant.unroutable)
    return conditions


def check_filters(filters: Filters, group_by: str | None = None) -> None:
    """InvalidInput for a status or grouping the dashboards do not know."""
    errors: dict[str, list[str]] = {}
    if filters.status and filters.status not in STATUS_FILTERS:
        errors["status"] = [_("Unknown status.")]
    if group_by is not None and group_by not in GROUPINGS:
        errors["group_by"] = [_("Unknown grouping.")]
    if errors:
        raise InvalidInput(errors)


def root_causes(*, actor: User, period: Period, subtree: str | None = None,
                group_by: str = "root_cause", filters: Filters | None = None,
                page: int = 1, per_page: int = 50, now: datetime | None = None) -> Table:
    """The irritants logged in the period, grouped, unroutable and overdue groups first.

    Rows: {"key", "count", "open", "overdue", "unroutable", "resolved", "occurrences",
    "oldest_open" (datetime or None), "mean_open_age_days" (float or None)}; `key` is
    a root cause key (None: not known yet), category key or unit key. Sorted by
    unroutable, overdue, count (highest first), then key. NotAllowed, InvalidInput.
    """
    _require_director(actor)
    filters = filters or Filters()
    check_filters(filters, group_by)
    page, per_page = _page(page, per_page)
    now = now or utcnow()
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    key = _group_column(group_by)
    unresolved = Irritant.status.in_(UNRESOLVED)
    # FILTER rather than SUM(CASE ...): a quarter of a large organisation is a quarter of a
    # million rows, and each expression per row counts.
    columns = (
        key.label("key"),
        func.count().label("count"),
        func.count().filter(unresolved).label("open"),
        func.count().filter(unresolved, Irritant.due_at < now).label("overdue"),
        func.count().filter(Irritant.unroutable).label("unroutable"),
        func.count().filter(Irritant.status == "resolved").label("resolved"),
        func.sum(Irritant.occurrences).label("occurrences"),
        func.min(Irritant.created_at).filter(unresolved).label("oldest_open"),
        func.avg(_epoch(Irritant.created_at)).filter(unresolved).label("open_epoch"),
    )
    # One aggregation: the window counts the groups before LIMIT.
    grouped = (select(*columns, func.count().over().label("total"))
               .where(*_irritant_conditions(org, period, subtree, filters, now))
               .group_by(key).subquery())
    query = select(grouped)
    name = grouped.c.key
    if group_by in ("origin", "assignee", "category"):
        # Ties by key, not by id: join the few grouped rows to their unit or category.
        model: Any = Category if group_by == "category" else Unit
        query = query.outerjoin(model, model.id == grouped.c.key)
        name = model.key
    query = (query.order_by(grouped.c.unroutable.desc(), grouped.c.overdue.desc(),
                            grouped.c.count.desc(), name)
             .offset((page - 1) * per_page).limit(per_page))
    found = db.session.execute(query).all()
    total = int(found[0].total) if found else (
        0 if page == 1 else db.session.scalar(select(func.count()).select_from(grouped)) or 0)
    rows = [_root_cause_row(row, group_by, org, now) for row in found]
    return Table(rows, page, per_page, total)


def _group_column(group_by: str) -> Any:
    return {
        "root_cause": Irritant.root_cause,
        "category": Irritant.category_id,
        "origin": Irritant.origin_unit_id,
        "assignee": Irritant.assignee_id,
    }[group_by]


def _root_cause_row(row: Any, group_by: str, org: CachedOrg, now: datetime) -> dict[str, Any]:
    key: Any = row.key
    if group_by in ("origin", "assignee"):
        key = org.key_of.get(row.key)
    elif group_by == "category":
        key = _category_keys().get(row.key)
    open_epoch = row.open_epoch
    return {
        "key": key,
        "count": int(row.count),
        "open": int(row.open or 0),
        "overdue": int(row.overdue or 0),
        "unroutable": int(row.unroutable or 0),
        "resolved": int(row.resolved or 0),
        "occurrences": int(row.occurrences or 0),
        "oldest_open": _aware(_as_datetime(row.oldest_open)),
        "mean_open_age_days": (None if open_epoch is None
                               else (now.timestamp() - float(open_epoch)) / 86400),
    }


def _as_datetime(value: Any) -> datetime | None:
    """A MIN over a CASE loses the column type on SQLite: parse its text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _category_keys() -> dict[int, str]:
    return dict(db.session.execute(select(Category.id, Category.key)).tuples().all())


def irritants_behind(*, actor: User, period: Period, subtree: str | None = None,
                     filters: Filters | None = None, page: int = 1, per_page: int = 50,
                     now: datetime | None = None) -> Table:
    """The irritants behind a figure: unroutable first, then overdue, then newest."""
    _require_director(actor)
    filters = filters or Filters()
    check_filters(filters)
    page, per_page = _page(page, per_page)
    now = now or utcnow()
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    conditions = _irritant_conditions(org, period, subtree, filters, now)
    total = db.session.scalar(select(func.count()).select_from(Irritant).where(*conditions))
    overdue = sa.and_(Irritant.status.in_(UNRESOLVED), Irritant.due_at < now)
    # The page's ids first, from the columns ix_irritant_created carries (an index-only
    # sort of a quarter), then only those irritants' whole rows.
    ids = list(db.session.scalars(
        select(Irritant.id).where(*conditions)
        .order_by(Irritant.unroutable.desc(), sa.case((overdue, 0), else_=1),
                  Irritant.created_at.desc(), Irritant.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    found = {irritant.id: irritant for irritant in db.session.scalars(
        select(Irritant).where(Irritant.id.in_(ids)).options(selectinload(Irritant.category)))}
    return Table([found[irritant_id] for irritant_id in ids], page, per_page, total or 0)


def count_logged(period: Period) -> int:
    """How many irritants were logged in the period (one index range count)."""
    return db.session.scalar(select(func.count()).select_from(Irritant).where(
        Irritant.created_at >= period.since, Irritant.created_at < period.until)) or 0


def root_cause_labels(locale: str) -> dict[str, str]:
    """Root cause key -> label in that language, from every category's list."""
    labels: dict[str, str] = {}
    for causes in db.session.scalars(select(Category.root_causes)):
        for cause in causes or []:
            key = cause.get("key")
            if key and key not in labels:
                labels[key] = cause.get(locale) or cause.get("fr") or cause.get("en") or key
    return labels


def category_labels(locale: str) -> dict[str, str]:
    """Category key -> label in that language."""
    return {category.key: category.label(locale)
            for category in db.session.scalars(select(Category))}


def vocabulary_labels(locale: str) -> dict[tuple[str, str], str]:
    """(kind, key) -> label in that language, for the items that have one."""
    return {(row.kind, row.key): (row.label_en if locale == "en" else row.label_fr) or row.key
            for row in db.session.scalars(select(VocabularyLabel))}
