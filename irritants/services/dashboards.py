"""What directors read: root causes, locality, the gap ledger, the HR view and the map.

Every figure is aggregated by the database; Python only shapes the grouped rows (at
most one per unit or per week), never the irritants themselves. Long tables come back a
page at a time.

On PostgreSQL, locality reads locality_rollup (services/locality_rollup.py: per day and
unit, each unit's subtree) and the gap figures read gap_line, each line's running
totals by month (services/gap_rollup.py), both kept by triggers; the root causes and the
irritants behind a figure are index-only scans of ix_irritant_created, which carries
their columns. SQLite counts the rows themselves: same results. bench/dashboards.py
measures them at 1,000,000 irritants.

Who may read what: directors and admins everything; leads the gap ledger and
the HR view of their own subtree (api.md "gaps"); agents nothing (NotAllowed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import (
    UNRESOLVED,
    AuditEvent,
    Category,
    GapItem,
    GapItemRollup,
    GapLine,
    GapRollup,
    Irritant,
    LocalityRollup,
    Unit,
    User,
    VocabularyLabel,
    utcnow,
)
from irritants.routing import Change, ReplayCase, Requirements, replay
from irritants.services import access, locality_rollup
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.messages import _, number, quoted
from irritants.services.snapshot import CachedOrg, cached_org, plain_amount
from irritants.services.text_search import contains_any_case

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
MAX_PER_PAGE = 500
GROUPINGS = ("root_cause", "category", "origin", "assignee")
BUCKETS = ("day", "week", "month")
KINDS = ("competency", "authority", "tool")
STATUS_FILTERS = ("open", "in_progress", "resolved", "unresolved")
GRANT_WINDOW = timedelta(days=90)
"""The longest window compared before and after a grant."""
REPLAYED_PER_ROW = 5_000
"""At most this many irritants replayed per training-plan or delegation row."""
NO_ROOT_CAUSE = "none"
"""The filter value of irritants without a root cause (not resolved yet)."""


# -- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[since, until), aware UTC."""

    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def previous(self) -> Period:
        """The period of the same length just before."""
        return Period(self.since - self.length, self.since)


@dataclass(frozen=True)
class Table:
    """One page of a table: rows (dicts or models), the page asked, the number of rows."""

    rows: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


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


@dataclass
class _Figures:
    """Locality counts of a group of irritants."""

    logged: int = 0
    resolved: int = 0
    resolved_at_origin: int = 0
    escalated: int = 0
    routings: int = 0
    distance: int = 0

    def add(self, other: _Figures, sign: int = 1) -> None:
        for name in ("logged", "resolved", "resolved_at_origin", "escalated", "routings",
                     "distance"):
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))

    def subtract(self, other: _Figures) -> None:
        self.add(other, -1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "logged": self.logged,
            "resolved": self.resolved,
            "resolved_at_origin": self.resolved_at_origin,
            "escalated": self.escalated,
            "routings": self.routings,
            "share_resolved_at_origin": _share(self.resolved_at_origin, self.logged),
            "share_escalated": _share(self.escalated, self.logged),
            "mean_distance": self.distance / self.routings if self.routings else None,
        }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- periods, pages, scopes -----------------------------------------------------------------


def period_of(since: datetime | date | str | None = None,
              until: datetime | date | str | None = None, *,
              now: datetime | None = None, days: int = DEFAULT_DAYS) -> Period:
    """The period [since, until); defaults: the last `days` days up to now. InvalidInput."""
    errors: dict[str, list[str]] = {}
    end = _moment(until, "until", errors)
    start = _moment(since, "since", errors)
    if errors:
        raise InvalidInput(errors)
    end = end or (now or utcnow())
    start = start or end - timedelta(days=days)
    if end <= start:
        raise InvalidInput({"until": [_("The end must be after the start.")]})
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput({"since": [_("A period may last at most %(days)s days.",
                                        days=number(MAX_DAYS))]})
    return Period(start, end)


def _moment(value: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            errors[name] = [_("Not a valid date.")]
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime):
        errors[name] = [_("Not a valid date.")]
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _page(page: Any, per_page: Any) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        errors["page"] = [_("Must be a whole number of at least 1.")]
    if (isinstance(per_page, bool) or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_PER_PAGE):
        errors["per_page"] = [_("Must be between 1 and %(max)d.", max=MAX_PER_PAGE)]
    if errors:
        raise InvalidInput(errors)
    return page, per_page


def _require_director(actor: User) -> None:
    if actor.role not in access.SEES_ALL:
        raise NotAllowed("only directors and admins read the dashboards")
    _tune()


def _require_gap_reader(actor: User) -> None:
    if not access.may_view_gaps(actor):
        raise NotAllowed("only leads, directors and admins read the gaps")
    _tune()


def _tune() -> None:
    """On PostgreSQL, for this transaction only (SET LOCAL): aggregate a quarter in memory
    instead of spilling sorts to disk, and skip JIT compilation, which costs more than it
    saves on queries of a few hundred milliseconds."""
    if _dialect() == "postgresql":
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(sa.text("SET LOCAL jit = off"))


def readable_subtree(actor: User, subtree: str | None) -> str:
    """The subtree a page shows: the one asked (within the actor's), else the actor's.

    Directors and admins default to the root; a lead to their own unit, and
    NotFound for a unit outside their subtree. InvalidInput for an unknown key.
    """
    org = cached_org()
    snapshot = org.snapshot
    if subtree not in (None, "") and subtree not in snapshot:
        raise InvalidInput({"subtree": [_("Unknown unit %(key)s.", key=quoted(subtree))]})
    if actor.role in access.SEES_ALL:
        return subtree or snapshot.root
    own = access.unit_key_of(actor)
    if own is None:
        raise NotFound("the actor has no unit")
    if not subtree:
        return own
    if not snapshot.is_in_subtree(subtree, own):
        raise NotFound(f"unit {subtree} is outside the actor's subtree")
    return subtree


def _unit_ids(org: CachedOrg, subtree: str) -> list[int] | None:
    """Database ids of the subtree's units; None for the whole org (no filter to send)."""
    if subtree == org.snapshot.root:
        return None
    return [org.id_of[key] for key in org.snapshot.subtree(subtree)]


def _unit_keys(org: CachedOrg, subtree: str) -> list[str] | None:
    if subtree == org.snapshot.root:
        return None
    return org.snapshot.subtree(subtree)


def _id_of(org: CachedOrg, key: str | None) -> int:
    """A unit's id; -1 (matches nothing) for an unknown key."""
    return org.id_of.get(key, -1) if key else -1


# -- dialect helpers ------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _bucket(column: Any, bucket: str) -> Any:
    """The start of the day, ISO week (Monday) or month of a UTC time (see _day)."""
    if _dialect() == "postgresql":
        # Literals, not parameters (bucket is one of BUCKETS): GROUP BY must see the
        # same expression as SELECT.
        unit = sa.literal_column(f"'{bucket}'")
        return func.date_trunc(unit, func.timezone(sa.literal_column("'UTC'"), column))
    if bucket == "week":
        return func.date(column, "weekday 0", "-6 days")
    if bucket == "month":
        return func.strftime("%Y-%m-01", column)
    return func.date(column)


def _day(value: Any) -> date:
    """A bucket's start as a date (PostgreSQL gives a timestamp, SQLite 'YYYY-MM-DD')."""
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _epoch(column: Any) -> Any:
    """Seconds since 1970 of a UTC time (a float: date_part, not extract's numeric)."""
    if _dialect() == "postgresql":
        return func.date_part("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _json_length(column: Any) -> Any:
    if _dialect() == "postgresql":
        return func.jsonb_array_length(column)
    return func.json_array_length(column)


def _distance(column: Any) -> Any:
    """The first element of a rank (its distance), as an integer."""
    if _dialect() == "postgresql":
        return sa.cast(column.op("->>")(0), sa.Integer)
    return sa.cast(func.json_extract(column, "$[0]"), sa.Integer)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: Decimal | float | int | None) -> int | float | None:
    return None if value is None else plain_amount(Decimal(str(value)))


# -- root causes ----------------------------------------------------------------------------


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


# -- locality -------------------------------------------------------------------------------


def locality(*, actor: User, period: Period, subtree: str | None = None,
             bucket: str = "week", now: datetime | None = None) -> dict[str, Any]:
    """Subsidiarity figures of the irritants originating in the subtree, over time and per unit.

    "series": per bucket (day, week or month of logging) and "total": logged,
    resolved, resolved_at_origin (resolved with the origin as assignee), escalated
    (an SLA or manual escalation), routings (irritants with a routing distance) and
    the shares; mean_distance is the mean of their routing's rank[0] (the routing
    event that placed them), the origin's depth for an unroutable one. "units": the
    same per child subtree of `subtree`, with the unit itself first ("own": True).
    One pass over the irritants of the period. NotAllowed, NotFound, InvalidInput.
    """
    _require_director(actor)
    if bucket not in BUCKETS:
        raise InvalidInput({"bucket": [_("Unknown time step.")]})
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    count = _rolled_up_locality if _dialect() == "postgresql" else _counted_locality
    by_bucket, per_unit = count(org, subtree, period, bucket)
    total = _Figures()
    for figures in by_bucket.values():
        total.add(figures)
    return {
        "subtree": subtree,
        "bucket": bucket,
        "series": [{"start": start, **by_bucket[start].as_dict()} for start in sorted(by_bucket)],
        "units": _unit_rows(org, subtree, per_unit),
        "total": total.as_dict(),
    }


_Locality = tuple[dict[date, _Figures], dict[str, _Figures]]
"""Figures per time bucket (its first day), and per unit: the subtree's own irritants under
its key, each child subtree's under the child's key."""


def _counted_locality(org: CachedOrg, subtree: str, period: Period, bucket: str) -> _Locality:
    """Locality counted from the irritants themselves (SQLite; the edges of a period)."""
    by_bucket: dict[date, _Figures] = {}
    per_unit: dict[str, _Figures] = {}
    group_of = _locality_group(org, subtree)
    for in_time, group, figures in _irritant_figures(period, _unit_ids(org, subtree), bucket):
        key = _day(group) if in_time else group_of(org.key_of.get(group))
        if key is not None:
            (by_bucket if in_time else per_unit).setdefault(key, _Figures()).add(figures)
    _add_unroutable(org, subtree, period, bucket, by_bucket, per_unit)
    return by_bucket, per_unit


def _rolled_up_locality(org: CachedOrg, subtree: str, period: Period, bucket: str
                        ) -> _Locality:
    """Locality read from locality_rollup (PostgreSQL) for the whole days of the period:
    the rows of the subtree's unit and of its children, a few per day, whatever the
    number of irritants; the hours before the first midnight and after the last are
    counted from the irritants."""
    first = _next_midnight(period.since)
    last = datetime.combine(period.until.date(), datetime.min.time(), tzinfo=UTC)
    if first >= last:
        return _counted_locality(org, subtree, period, bucket)
    by_bucket, per_unit = _rollup_rows(org, subtree, first.date(), last.date(), bucket)
    _add_unroutable(org, subtree, Period(first, last), bucket, by_bucket, per_unit)
    for edge in (Period(period.since, first), Period(last, period.until)):
        if edge.since < edge.until:
            edge_buckets, edge_units = _counted_locality(org, subtree, edge, bucket)
            _merge(by_bucket, edge_buckets)
            _merge(per_unit, edge_units)
    return by_bucket, per_unit


def _midnight_before(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`."""
    return datetime.combine(moment.date(), datetime.min.time(), tzinfo=UTC)


def _next_midnight(moment: datetime) -> datetime:
    midnight = _midnight_before(moment)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def _rollup_rows(org: CachedOrg, subtree: str, first: date, last: date, bucket: str
                 ) -> _Locality:
    """Per bucket from the subtree unit's rows, per child from the children's; the
    subtree's own irritants are its rows less its children's. Then the pending rows (the
    last minute's changes, still at their origin) of the subtree's origins."""
    children = org.snapshot.children(subtree)
    key_of = {org.id_of[key]: key for key in [subtree, *children]}
    by_bucket: dict[date, _Figures] = {}
    per_unit: dict[str, _Figures] = {}
    for unit_id, day, figures in _rollup_sums(first, last, pending=False, ids=list(key_of)):
        key = key_of[unit_id]
        per_unit.setdefault(key, _Figures()).add(figures)
        if key == subtree:
            by_bucket.setdefault(_bucket_start(day, bucket), _Figures()).add(figures)
    own = per_unit.setdefault(subtree, _Figures())
    for child in children:
        own.subtract(per_unit.get(child, _Figures()))
    group_of = _locality_group(org, subtree)
    for unit_id, day, figures in _rollup_sums(first, last, pending=True,
                                              ids=_unit_ids(org, subtree)):
        group = group_of(org.key_of.get(unit_id))
        if group is not None:
            per_unit.setdefault(group, _Figures()).add(figures)
            by_bucket.setdefault(_bucket_start(day, bucket), _Figures()).add(figures)
    return by_bucket, per_unit


def _rollup_sums(first: date, last: date, *, pending: bool, ids: list[int] | None
                 ) -> Iterator[tuple[int, date, _Figures]]:
    """(unit id, day, figures) of locality_rollup's pending or subtree rows."""
    rollup = LocalityRollup
    query = (select(rollup.unit_id, rollup.day,
                    *(func.sum(getattr(rollup, name)).label(name)
                      for name in locality_rollup.MEASURES))
             .where(rollup.pending if pending else sa.not_(rollup.pending),
                    rollup.day >= first, rollup.day < last,
                    *([rollup.unit_id.in_(ids)] if ids is not None else []))
             .group_by(rollup.unit_id, rollup.day))
    for row in db.session.execute(query):
        yield row.unit_id, row.day, _figures_of(row)


def _bucket_start(day: date, bucket: str) -> date:
    """The first day of the day, ISO week (Monday) or month holding `day` (as _bucket)."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _add_unroutable(org: CachedOrg, subtree: str, period: Period, bucket: str,
                    by_bucket: dict[date, _Figures], per_unit: dict[str, _Figures]) -> None:
    """Unroutable irritants land at the root: their distance is their origin's depth
    today, known from the snapshot (the rollup leaves them out: a move would change it).
    A few, on ix_irritant_unroutable_created."""
    at_root = sa.and_(Irritant.unroutable, _distance(Irritant.rank).is_(None))
    ids = _unit_ids(org, subtree)
    by_time = _bucket(Irritant.created_at, bucket)
    query = (select(by_time, Irritant.origin_unit_id, func.count())
             .where(Irritant.created_at >= period.since, Irritant.created_at < period.until,
                    at_root, *([Irritant.origin_unit_id.in_(ids)] if ids is not None else []))
             .group_by(by_time, Irritant.origin_unit_id))
    group_of = _locality_group(org, subtree)
    # Plain sums first: a quarter of a large organisation has thousands of such rows.
    per_bucket: dict[date, list[int]] = {}
    per_group: dict[str, list[int]] = {}
    for start, origin_id, count in db.session.execute(query).tuples():
        origin = org.key_of.get(origin_id)
        group = group_of(origin)
        if origin is None or group is None:
            continue
        distance = int(count) * org.snapshot.depth(origin)
        for sums in (per_bucket.setdefault(_day(start), [0, 0]),
                     per_group.setdefault(group, [0, 0])):
            sums[0] += int(count)
            sums[1] += distance
    for target, sums_by_key in ((by_bucket, per_bucket), (per_unit, per_group)):
        for key, (routings, distance) in sums_by_key.items():
            target.setdefault(key, _Figures()).add(_Figures(routings=routings, distance=distance))


def _merge(into: dict[Any, _Figures], more: Mapping[Any, _Figures]) -> None:
    for key, figures in more.items():
        into.setdefault(key, _Figures()).add(figures)


def _locality_group(org: CachedOrg, subtree: str) -> Any:
    """origin key -> the subtree's key (its own irritants) or its child holding the origin;
    None for a unit no longer in the organisation."""
    snapshot = org.snapshot
    depth = snapshot.depth(subtree)

    def group_of(origin: str | None) -> str | None:
        if origin is None or origin not in snapshot:
            return None
        if origin == subtree:
            return subtree
        ancestors = snapshot.ancestors(origin)  # nearest first, the root last
        return ancestors[len(ancestors) - depth - 2]

    return group_of


def _grouped_twice(columns: Sequence[Any], by_time: Any, by_origin: Any, *,
                   where: Sequence[Any]) -> list[tuple[bool, Any, Any]]:
    """Rows aggregated per time bucket and per origin: (in_time, group, row).

    PostgreSQL reads the rows once (GROUPING SETS); SQLite runs two queries.
    """
    def base(*selected: Any) -> Any:
        return select(*selected, *columns).select_from(Irritant).where(*where)

    if _dialect() == "postgresql":
        query = base(by_time.label("bucket"), by_origin.label("origin"),
                     func.grouping(by_time).label("by_origin")).group_by(
            func.grouping_sets(sa.tuple_(by_time), sa.tuple_(by_origin)))
        return [(not row.by_origin, row.origin if row.by_origin else row.bucket, row)
                for row in db.session.execute(query)]
    in_time = db.session.execute(base(by_time.label("bucket")).group_by(by_time)).all()
    per_origin = db.session.execute(
        base(by_origin.label("origin")).group_by(by_origin)).all()
    return ([(True, row.bucket, row) for row in in_time]
            + [(False, row.origin, row) for row in per_origin])


def _locality_columns() -> tuple[tuple[Any, ...], Any]:
    """The aggregates of _Figures over irritants (with "at_root": the unroutable ones, whose
    distance is their origin's depth), and the condition of being at the root."""
    resolved = Irritant.status == "resolved"
    escalated = sa.or_(Irritant.escalation_level > 0, _json_length(Irritant.excluded) > 0)
    # rank may be a JSON null (not SQL NULL): test the extracted distance, not the column.
    distance = _distance(Irritant.rank)
    at_root = sa.and_(distance.is_(None), Irritant.unroutable.is_(True))
    columns = (
        func.count().label("logged"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(resolved, Irritant.assignee_id == Irritant.origin_unit_id
                            ).label("at_origin"),
        func.count().filter(escalated).label("escalated"),
        func.count(distance).label("routings"),
        func.sum(distance).label("distance"),
        func.count().filter(at_root).label("at_root"),
    )
    return columns, at_root


def _irritant_figures(period: Period, ids: list[int] | None,
                      bucket: str) -> list[tuple[bool, Any, _Figures]]:
    """(in_time, bucket or origin id, figures) of the irritants logged in the period.

    An irritant's distance is that of its current routing (rank[0]); one moved since by
    an SLA escalation or a reassignment (rank null, routable) counts no distance; an
    unroutable one counts its origin's depth, which _add_unroutable adds.
    """
    columns, _at_root = _locality_columns()
    where = [Irritant.created_at >= period.since, Irritant.created_at < period.until,
             *([Irritant.origin_unit_id.in_(ids)] if ids is not None else [])]
    rows = _grouped_twice(columns, _bucket(Irritant.created_at, bucket),
                          Irritant.origin_unit_id, where=where)
    return [(in_time, group, _figures_of(row)) for in_time, group, row in rows]


def _figures_of(row: Any) -> _Figures:
    return _Figures(logged=int(row.logged), resolved=int(row.resolved or 0),
                    resolved_at_origin=int(row.at_origin or 0),
                    escalated=int(row.escalated or 0), routings=int(row.routings or 0),
                    distance=int(row.distance or 0))


def _unit_rows(org: CachedOrg, subtree: str, per_unit: Mapping[str, _Figures]
               ) -> list[dict[str, Any]]:
    """The unit itself, then each child subtree, with their figures."""
    snapshot = org.snapshot
    rows = [{"unit": subtree, "own": True, "has_children": False,
             **per_unit.get(subtree, _Figures()).as_dict()}]
    rows += [{"unit": child, "own": False, "has_children": bool(snapshot.children(child)),
              **per_unit.get(child, _Figures()).as_dict()}
             for child in snapshot.children(subtree)]
    return rows


# -- the gap ledger -------------------------------------------------------------------------


def _gap_conditions(period: Period, keys: list[str] | None, kind: str | None,
                    unit: str | None) -> list[Any]:
    return [GapItem.at >= period.since, GapItem.at < period.until,
            *_line_conditions(GapItem, keys, kind, unit)]


def _line_counts(period: Period, keys: list[str] | None, kind: str | None,
                 unit: str | None, items: list[tuple[str, str]] | None = None) -> Any:
    """Every (unit_key, kind, item_key) line lacked in the period, once, with its count n
    (> 0), as a subquery.

    On PostgreSQL, when the period is close to a run of whole UTC months (_month_span),
    a line's count over those months is two subscripts of its gap_line row (no grouping
    of the lines: a quarter holds 80,000 of them), plus the gap_rollup rows appended
    since the last fold, plus or minus the gap items of the hours between the period's
    ends and the months'. Otherwise, and on SQLite, a count of the gap items."""
    span = _month_span(period) if _dialect() == "postgresql" else None
    if span is None:
        return (select(GapItem.unit_key, GapItem.kind, GapItem.item_key,
                       func.count().label("n"))
                .where(GapItem.at >= period.since, GapItem.at < period.until,
                       *_line_conditions(GapItem, keys, kind, unit, items))
                .group_by(GapItem.unit_key, GapItem.kind, GapItem.item_key).subquery())
    first, last, corrections = span
    folded = _folded_counts(first, last, _line_conditions(GapLine, keys, kind, unit, items))
    extra = _unfolded_counts(first, last, corrections, keys, kind, unit, items)
    count = func.coalesce(folded.c.n, 0) + func.coalesce(extra.c.n, 0)
    joined = folded.join(extra, sa.and_(folded.c.unit_key == extra.c.unit_key,
                                        folded.c.kind == extra.c.kind,
                                        folded.c.item_key == extra.c.item_key), full=True)
    return (select(func.coalesce(folded.c.unit_key, extra.c.unit_key).label("unit_key"),
                   func.coalesce(folded.c.kind, extra.c.kind).label("kind"),
                   func.coalesce(folded.c.item_key, extra.c.item_key).label("item_key"),
                   count.label("n"))
            .select_from(joined).where(count > 0).subquery())


def _folded_counts(first: datetime, last: datetime, conditions: list[Any]) -> Any:
    """The lines' counts over the months [first, last) from gap_line, those above 0."""
    # OFFSET 0 keeps the subquery apart, so that each row's count is worked out once.
    counted = (select(GapLine.unit_key, GapLine.kind, GapLine.item_key,
                      (_count_before(last) - _count_before(first)).label("n"))
               .where(*conditions).offset(0).subquery())
    return select(counted).where(counted.c.n > 0).subquery("folded")


def _unfolded_counts(first: datetime, last: datetime,
                     corrections: list[tuple[datetime, datetime, int]], keys: list[str] | None,
                     kind: str | None, unit: str | None, items: list[tuple[str, str]] | None
                     ) -> Any:
    """Per line, what gap_line does not hold yet of the months [first, last) (the rows
    appended since the last fold) and the signed gap items of the corrections."""
    pending = select(GapRollup.unit_key, GapRollup.kind, GapRollup.item_key,
                     GapRollup.n).where(
        ~GapRollup.folded, GapRollup.month >= first.date(), GapRollup.month < last.date(),
        *_line_conditions(GapRollup, keys, kind, unit, items))
    hours = [select(GapItem.unit_key, GapItem.kind, GapItem.item_key,
                    sa.literal(sign, sa.Integer).label("n")).where(
        GapItem.at >= since, GapItem.at < until,
        *_line_conditions(GapItem, keys, kind, unit, items))
        for since, until, sign in corrections]
    changes = sa.union_all(pending, *hours).subquery()
    return (select(changes.c.unit_key, changes.c.kind, changes.c.item_key,
                   func.sum(changes.c.n).label("n"))
            .group_by(changes.c.unit_key, changes.c.kind, changes.c.item_key)
            .subquery("extra"))


def _count_before(month: datetime) -> Any:
    """A gap_line's count of the months before `month` (a month start): 0 before its
    first month, its last running total after its last."""
    index = month.year * 12 + month.month - 1
    return sa.case((GapLine.start >= index, 0), else_=GapLine.cum[
        func.least(index - GapLine.start, func.cardinality(GapLine.cum))])


def _month_span(period: Period
                ) -> tuple[datetime, datetime, list[tuple[datetime, datetime, int]]] | None:
    """The run of whole UTC months [first, last) nearest the period, and the corrections
    that make its count the period's: (since, until, +1) for hours of the period outside
    it, (since, until, -1) for hours inside it outside the period. None when the period
    rounds to no whole month (a count of its gap items then)."""
    since, until = period.since.astimezone(UTC), period.until.astimezone(UTC)
    first, last = _nearest_month_start(since), _nearest_month_start(until)
    if first >= last:
        return None
    corrections = []
    if first != since:
        corrections.append((since, first, 1) if since < first else (first, since, -1))
    if last != until:
        corrections.append((last, until, 1) if last < until else (until, last, -1))
    return first, last, corrections


def _nearest_month_start(moment: datetime) -> datetime:
    """The UTC month start nearest `moment` (the earlier one when halfway)."""
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return start if moment - start <= end - moment else end


def _line_conditions(model: Any, keys: list[str] | None, kind: str | None,
                     unit: str | None, items: list[tuple[str, str]] | None = None
                     ) -> list[Any]:
    conditions: list[Any] = []
    if items is not None:
        conditions.append(sa.tuple_(model.kind, model.item_key).in_(items))
    if keys is not None:
        conditions.append(model.unit_key.in_(keys))
    if kind:
        conditions.append(model.kind == kind)
    if unit:
        conditions.append(model.unit_key == unit)
    return conditions


def gap_ledger(*, actor: User, period: Period, subtree: str | None = None,
               kind: str | None = None, unit: str | None = None, page: int = 1,
               per_page: int = 50) -> Table:
    """What the units of the subtree lacked in the period, beside the previous period.

    Rows: {"unit", "kind", "key", "count", "previous" (the count in the period of
    the same length just before), "max_required", "limit_recorded" (the highest
    limit the unit held when it fell short), "limit_held" (its limit today; None
    when unlimited), "holds" (whether it holds that item today)}, for the items
    lacked in the period, sorted by count (highest first), then unit, kind and key.
    A lead reads their own subtree. NotAllowed, NotFound, InvalidInput.
    """
    _require_gap_reader(actor)
    if kind and kind not in KINDS:
        raise InvalidInput({"kind": [_("Unknown kind.")]})
    page, per_page = _page(page, per_page)
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    keys = _unit_keys(org, subtree)
    if unit and (unit not in org.snapshot or (keys is not None and unit not in keys)):
        return Table([], page, per_page, 0)
    lines = _line_counts(period, keys, kind, unit)
    # Counts only (the amounts of the page's lines are read afterwards: numeric maxima over
    # every line would cost more than the counts); the window counts the lines before LIMIT.
    query = (
        select(lines.c.unit_key.label("unit"), lines.c.kind.label("kind"),
               lines.c.item_key.label("key"), lines.c.n.label("count"),
               func.count().over().label("total"))
        .order_by(lines.c.n.desc(), lines.c.unit_key, lines.c.kind, lines.c.item_key)
        .offset((page - 1) * per_page).limit(per_page)
    )
    found = db.session.execute(query).all()
    total = int(found[0].total) if found else _line_total(period, keys, kind, unit, page)
    return Table(_ledger_rows(found, period, org), page, per_page, total)


def _line_total(period: Period, keys: list[str] | None, kind: str | None, unit: str | None,
                page: int) -> int:
    """The number of ledger lines, for a page past the end (the window saw no row)."""
    if page == 1:
        return 0
    lines = _line_counts(period, keys, kind, unit)
    return db.session.scalar(select(func.count()).select_from(lines)) or 0


@dataclass(frozen=True)
class _LineDetails:
    """A ledger line's count in the previous period and its amounts in this one."""

    previous: int = 0
    max_required: Any = None
    limit_recorded: Any = None


def _line_details(period: Period, lines: list[tuple[str, str, str]]
                  ) -> dict[tuple[str, str, str], _LineDetails]:
    """For these (unit, kind, item) lines only (a page of the ledger): the previous
    period's count, and the highest amount asked and limit held in the period. One
    query over those lines' gap items in both periods (ix_gap_item_line_at)."""
    if not lines:
        return {}
    before = period.previous
    current = GapItem.at >= period.since
    query = (
        select(GapItem.unit_key, GapItem.kind, GapItem.item_key,
               func.count().filter(~current).label("previous"),
               func.max(GapItem.required).filter(current).label("max_required"),
               func.max(GapItem.limit).filter(current).label("limit_recorded"))
        .where(GapItem.unit_key.in_(sorted({unit for unit, _kind, _key in lines})),
               GapItem.at >= before.since, GapItem.at < period.until,
               sa.tuple_(GapItem.unit_key, GapItem.kind, GapItem.item_key).in_(lines))
        .group_by(GapItem.unit_key, GapItem.kind, GapItem.item_key)
    )
    return {(row.unit_key, row.kind, row.item_key):
            _LineDetails(int(row.previous), row.max_required, row.limit_recorded)
            for row in db.session.execute(query)}


def _ledger_rows(found: Sequence[Any], period: Period, org: CachedOrg) -> list[dict[str, Any]]:
    """The ledger rows of a page of grouped lines (unit, kind, key, count)."""
    details = _line_details(period, [(row.unit, row.kind, row.key) for row in found])
    return [_ledger_row(row, org, details.get((row.unit, row.kind, row.key), _LineDetails()))
            for row in found]


def _ledger_row(row: Any, org: CachedOrg, details: _LineDetails) -> dict[str, Any]:
    holds, limit_held = _held(org, row.unit, row.kind, row.key)
    return {
        "unit": row.unit, "kind": row.kind, "key": row.key,
        "count": int(row.count or 0), "previous": details.previous,
        "max_required": _number(details.max_required),
        "limit_recorded": _number(details.limit_recorded),
        "holds": holds, "limit_held": limit_held,
    }


def _held(org: CachedOrg, unit: str, kind: str, key: str) -> tuple[bool, Any]:
    """Whether the unit holds the item today, and its limit for an authority."""
    if unit not in org.snapshot:
        return False, None
    found = org.snapshot.unit(unit)
    if kind == "competency":
        return key in found.competencies, None
    if kind == "tool":
        return key in found.tools, None
    if key not in found.authorities:
        return False, None
    return True, plain_amount(found.authorities[key])


def gap_items_summary(*, actor: User, period: Period, subtree: str | None = None,
                      limit: int = 10) -> list[dict[str, Any]]:
    """The items lacked most in the period: {"kind", "key", "count", "previous", "units"}
    (units: how many units lacked it), by count then key and kind."""
    _require_gap_reader(actor)
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    keys = _unit_keys(org, subtree)
    # One row per (unit, item) line: its units are its lines.
    lines = _line_counts(period, keys, None, None)
    total = func.sum(lines.c.n).label("total")
    query = (select(lines.c.kind, lines.c.item_key, total, func.count().label("units"))
             .group_by(lines.c.kind, lines.c.item_key)
             .order_by(total.desc(), lines.c.item_key, lines.c.kind).limit(limit))
    return _summary_rows(db.session.execute(query).all(), period, keys)


def _summary_rows(found: Sequence[Any], period: Period, keys: list[str] | None
                  ) -> list[dict[str, Any]]:
    """The items lacked most (rows kind, item_key, total, units) with their previous count."""
    previous = _item_counts(period.previous, keys, [(row.kind, row.item_key) for row in found])
    return [{"kind": row.kind, "key": row.item_key, "count": int(row.total),
             "previous": previous.get((row.kind, row.item_key), 0), "units": int(row.units)}
            for row in found]


def _item_counts(period: Period, keys: list[str] | None, items: list[tuple[str, str]]
                 ) -> dict[tuple[str, str], int]:
    """How often each of these (kind, item) was lacked in the period, in the units `keys`
    (None: all). For the whole organisation on PostgreSQL, the whole UTC days come from
    gap_item_rollup (a few rows a day) and the hours at either end from the gap items;
    otherwise from the units' lines (_line_counts)."""
    if not items:
        return {}
    first, last = _next_midnight(period.since), _midnight_before(period.until)
    if keys is not None or _dialect() != "postgresql" or first >= last:
        lines: Any = _line_counts(period, keys, None, None, items=items)
    else:
        rolled = select(GapItemRollup.kind, GapItemRollup.item_key.label("item_key"),
                        GapItemRollup.n.label("n")).where(
            GapItemRollup.day >= first.date(), GapItemRollup.day < last.date(),
            sa.tuple_(GapItemRollup.kind, GapItemRollup.item_key).in_(items))
        edges = select(GapItem.kind, GapItem.item_key,
                       sa.literal(1, sa.Integer).label("n")).where(
            sa.or_(sa.and_(GapItem.at >= period.since, GapItem.at < first),
                   sa.and_(GapItem.at >= last, GapItem.at < period.until)),
            sa.tuple_(GapItem.kind, GapItem.item_key).in_(items))
        lines = sa.union_all(rolled, edges).subquery()
    query = (select(lines.c.kind, lines.c.item_key, func.sum(lines.c.n))
             .group_by(lines.c.kind, lines.c.item_key))
    return {(kind, key): int(count) for kind, key, count in db.session.execute(query)}


def gap_ledger_with_summary(*, actor: User, period: Period, subtree: str | None = None,
                            kind: str | None = None, unit: str | None = None, page: int = 1,
                            per_page: int = 50, summary_limit: int = 10
                            ) -> tuple[Table, list[dict[str, Any]]]:
    """The gap ledger page's two tables: gap_ledger's page and gap_items_summary (of the
    subtree, whatever the kind and unit filters), from one pass over the period's lines
    when no filter narrows the ledger (its lines are then the summary's). Same rows, same
    errors as the two calls."""
    if kind or unit:
        return (gap_ledger(actor=actor, period=period, subtree=subtree, kind=kind, unit=unit,
                           page=page, per_page=per_page),
                gap_items_summary(actor=actor, period=period, subtree=subtree,
                                  limit=summary_limit))
    _require_gap_reader(actor)
    page, per_page = _page(page, per_page)
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    keys = _unit_keys(org, subtree)
    rows = db.session.execute(_ledger_and_items(_line_counts(period, keys, None, None),
                                                page, per_page)).all()
    found = sorted((row for row in rows if row.part == "line"), key=lambda row: row.position)
    items = sorted((row for row in rows if row.part == "item"), key=lambda row: row.position)
    total = sum(int(row.units) for row in items)
    table = Table(_ledger_rows(found, period, org), page, per_page, total)
    summary = _summary_rows([_SummaryRow(row.kind, row.key, row.count, row.units)
                             for row in items[:summary_limit]], period, keys)
    return table, summary


@dataclass(frozen=True)
class _SummaryRow:
    kind: str
    item_key: str
    total: int
    units: int


def _ledger_and_items(lines: Any, page: int, per_page: int) -> Any:
    """One statement of two parts (column `part`) over the period's lines (_line_counts):
    "line" rows of the ledger's page, and "item" rows: every item with its count and the
    number of units (lines) that lacked it, whose sum is the number of lines."""
    grouped = (select(lines.c.unit_key.label("unit"), lines.c.kind.label("kind"),
                      lines.c.item_key.label("key"), lines.c.n.label("count"))
               .cte("ledger_lines"))
    # The page in the database's order (its collation breaks ties): `position`, numbered
    # over its few rows once LIMIT has kept them (not over every line: a full sort).
    ledger_page = (select(sa.literal("line").label("part"), grouped.c.unit, grouped.c.kind,
                          grouped.c.key, grouped.c.count,
                          sa.cast(sa.null(), sa.BigInteger).label("units"))
                   .order_by(grouped.c.count.desc(), grouped.c.unit, grouped.c.kind,
                             grouped.c.key)
                   .offset((page - 1) * per_page).limit(per_page).subquery())
    numbered_page = select(ledger_page, func.row_number().over(order_by=(
        ledger_page.c.count.desc(), ledger_page.c.unit, ledger_page.c.kind,
        ledger_page.c.key)).label("position"))
    # A vocabulary holds a few dozen items: all of them, ranked in the database's order.
    item_count = func.sum(grouped.c.count)
    items = select(sa.literal("item").label("part"), sa.cast(sa.null(), sa.String).label("unit"),
                   grouped.c.kind, grouped.c.key, item_count.label("count"),
                   func.count().label("units"),
                   func.row_number().over(order_by=(item_count.desc(), grouped.c.key,
                                                    grouped.c.kind)).label("position")
                   ).group_by(grouped.c.kind, grouped.c.key)
    return sa.union_all(numbered_page, items)


# -- grants, before and after ---------------------------------------------------------------


def grants_with_effects(*, actor: User, period: Period, subtree: str | None = None,
                        unit: str | None = None, now: datetime | None = None,
                        limit: int = 20) -> list[dict[str, Any]]:
    """The grants made in the period (newest first), each with before/after figures.

    For each grant to a unit of the subtree: {"id", "at", "unit", "actor", "reason",
    "granted", "window_days", "gaps_before", "gaps_after" (the unit's gap items for
    the granted items), "before", "after" (locality figures of the irritants
    originating at the unit)}, over equal windows either side of the grant (at
    most GRANT_WINDOW, up to now). NotAllowed, NotFound, InvalidInput.
    """
    _require_gap_reader(actor)
    now = now or utcnow()
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    keys = _unit_keys(org, subtree)
    conditions = [AuditEvent.type == "grant", AuditEvent.at >= period.since,
                  AuditEvent.at < period.until]
    if keys is not None:
        conditions.append(AuditEvent.subject.in_(keys))
    if unit:
        conditions.append(AuditEvent.subject == unit)
    events = db.session.scalars(
        select(AuditEvent).where(*conditions).options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all()
    grants = [_Grant.of(event, now) for event in events]
    gaps = _gaps_either_side(grants)
    locality = _locality_either_side(org, grants)
    return [{
        "id": grant.id, "at": grant.at, "unit": grant.unit,
        "actor": event.actor.name if event.actor is not None else None,
        "reason": event.data.get("reason"), "granted": grant.granted,
        "window_days": grant.window.days,
        "gaps_before": gaps.get((grant.id, False), 0),
        "gaps_after": gaps.get((grant.id, True), 0),
        **{side: locality.get((grant.id, side == "after"), _Figures()).as_dict()
           for side in ("before", "after")},
    } for grant, event in zip(grants, events, strict=True)]


@dataclass(frozen=True)
class _Grant:
    """A grant and the windows either side of it: [at - window, at) and [at, at + window)."""
    id: int
    unit: str
    at: datetime
    window: timedelta
    granted: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent, now: datetime) -> _Grant:
        at = _aware(event.at) or now
        window = min(GRANT_WINDOW, max(now - at, timedelta(0)))
        return cls(event.id, event.subject or "", at, window, event.data.get("granted") or {})

    @property
    def items(self) -> list[tuple[str, str]]:
        return ([("tool", key) for key in self.granted.get("tools", [])]
                + [("competency", key) for key in self.granted.get("competencies", [])]
                + [("authority", key) for key in self.granted.get("authorities", {})])


def _windows(rows: list[tuple[Any, ...]], columns: list[tuple[str, Any]]) -> Any:
    """The grants' windows as a table of literal rows (UNION ALL: SQLite has no VALUES
    with column names), to join on in one statement for every grant."""
    return sa.union_all(*(
        select(*(sa.literal(value, kind).label(name)
                 for value, (name, kind) in zip(row, columns, strict=True)))
        for row in rows)).subquery("windows")


def _gaps_either_side(grants: list[_Grant]) -> dict[tuple[int, bool], int]:
    """(grant id, after?) -> the unit's gap items for the granted items in that window;
    one statement for every grant (ix_gap_item_line_at)."""
    rows = [(grant.id, grant.unit, kind, key, grant.at - grant.window, grant.at,
             grant.at + grant.window)
            for grant in grants if grant.window for kind, key in grant.items]
    if not rows:
        return {}
    moment = GapItem.at.type
    windows = _windows(rows, [("grant_id", sa.Integer()), ("unit_key", sa.String()),
                              ("kind", sa.String()), ("item_key", sa.String()),
                              ("since", moment), ("at", moment), ("until", moment)])
    after = (GapItem.at >= windows.c.at).label("is_after")
    query = (select(windows.c.grant_id, after, func.count())
             .join_from(windows, GapItem, sa.and_(
                 GapItem.unit_key == windows.c.unit_key, GapItem.kind == windows.c.kind,
                 GapItem.item_key == windows.c.item_key, GapItem.at >= windows.c.since,
                 GapItem.at < windows.c.until))
             .group_by(windows.c.grant_id, after))
    return {(grant_id, bool(is_after)): int(count)
            for grant_id, is_after, count in db.session.execute(query).tuples()}


def _locality_either_side(org: CachedOrg, grants: list[_Grant]
                          ) -> dict[tuple[int, bool], _Figures]:
    """(grant id, after?) -> locality figures of the irritants originating at the unit in
    that window; one statement for every grant (ix_irritant_origin_created)."""
    known = [grant for grant in grants if grant.window and grant.unit in org.id_of]
    if not known:
        return {}
    moment = Irritant.created_at.type
    windows = _windows(
        [(grant.id, org.id_of[grant.unit], grant.at - grant.window, grant.at,
          grant.at + grant.window) for grant in known],
        [("grant_id", sa.Integer()), ("unit_id", sa.Integer()), ("since", moment),
         ("at", moment), ("until", moment)])
    columns, _at_root = _locality_columns()
    after = (Irritant.created_at >= windows.c.at).label("is_after")
    query = (select(windows.c.grant_id, after, *columns)
             .join_from(windows, Irritant, sa.and_(
                 Irritant.origin_unit_id == windows.c.unit_id,
                 Irritant.created_at >= windows.c.since, Irritant.created_at < windows.c.until))
             .group_by(windows.c.grant_id, after))
    depth = {grant.id: org.snapshot.depth(grant.unit) if grant.unit in org.snapshot else 0
             for grant in known}
    found = {}
    for row in db.session.execute(query):
        figures = _figures_of(row)
        figures.routings += int(row.at_root or 0)
        figures.distance += int(row.at_root or 0) * depth[row.grant_id]
        found[row.grant_id, bool(row.is_after)] = figures
    return found


# -- the HR view ----------------------------------------------------------------------------


def hr_view(*, actor: User, period: Period, subtree: str | None = None,
            training_page: int = 1, delegation_page: int = 1,
            per_page: int = 25) -> dict[str, Table]:
    """Competency gaps as a training plan, authority gaps as delegation proposals.

    "training": rows {"unit", "key" (competency), "count" (gap entries),
    "irritants" (irritants originating at the unit that lacked it), "kept_local"
    (how many of those a replay granting that competency alone assigns to the
    unit itself)}. "delegation": rows {"unit", "key" (authority), "count",
    "limit_held", "max_required", "p80", "p95" (the limits that would have
    covered 80 % and 95 % of the amounts asked, nearest rank), "kept_local_p95"}.
    Leads read their subtree. NotAllowed, NotFound, InvalidInput.
    """
    _require_gap_reader(actor)
    training_page, per_page = _page(training_page, per_page)
    delegation_page, per_page = _page(delegation_page, per_page)
    org = cached_org()
    subtree = readable_subtree(actor, subtree)
    keys = _unit_keys(org, subtree)
    return {
        "training": _training_plan(org, period, keys, training_page, per_page),
        "delegation": _delegation(org, period, keys, delegation_page, per_page),
    }


def _training_plan(org: CachedOrg, period: Period, keys: list[str] | None, page: int,
                   per_page: int) -> Table:
    lines = _line_counts(period, keys, "competency", None)
    grouped = select(lines.c.unit_key.label("unit"), lines.c.item_key.label("key"),
                     lines.c.n.label("count")).subquery()
    found, total = _paged(grouped, page, per_page)
    rows = []
    for unit, key, count, _total in found:
        change = Change(unit, grant_competencies=frozenset({key}))
        replayed, kept = _kept_local(org, period, unit, "competency", key, change)
        rows.append({"unit": unit, "key": key, "count": int(count), "irritants": replayed,
                     "kept_local": kept})
    return Table(rows, page, per_page, total)


def _delegation(org: CachedOrg, period: Period, keys: list[str] | None, page: int,
                per_page: int) -> Table:
    lines = _line_counts(period, keys, "authority", None)
    grouped = select(lines.c.unit_key.label("unit"), lines.c.item_key.label("key"),
                     lines.c.n.label("count")).subquery()
    found, total = _paged(grouped, page, per_page)
    amounts = _amounts_asked(period, [(row.unit, row.key) for row in found])
    rows = []
    for row in found:
        _holds, held = _held(org, row.unit, "authority", row.key)
        p80, p95, highest = (_number(value) for value in amounts.get((row.unit, row.key),
                                                                     (None, None, None)))
        change = Change(row.unit, set_authorities={row.key: p95})
        replayed, kept = _kept_local(org, period, row.unit, "authority", row.key, change)
        rows.append({"unit": row.unit, "key": row.key, "count": int(row.count),
                     "limit_held": held, "max_required": highest,
                     "p80": p80, "p95": p95, "irritants": replayed,
                     "kept_local_p95": kept})
    return Table(rows, page, per_page, total)


def _paged(grouped: Any, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of grouped rows (columns unit, key, count, ...; by count, highest first,
    then unit and key) and the number of groups, in one query: a window counts the
    groups before LIMIT; only a page past the end counts them apart."""
    query = (select(grouped, func.count().over().label("total"))
             .order_by(grouped.c.count.desc(), grouped.c.unit, grouped.c.key)
             .offset((page - 1) * per_page).limit(per_page))
    found = list(db.session.execute(query))
    if found:
        return found, int(found[0].total)
    if page == 1:
        return [], 0
    return [], db.session.scalar(select(func.count()).select_from(grouped)) or 0


def _amounts_asked(period: Period, lines: list[tuple[str, str]]
                   ) -> dict[tuple[str, str], tuple[Any, Any, Any]]:
    """(unit, authority) -> the nearest-rank p80 and p95 of the amounts asked in the period
    (the smallest amount with at least p % of the amounts at or below it) and the highest,
    for the lines
    of one page only (ix_gap_item_unit_at). PostgreSQL's percentile_disc is that
    definition; SQLite ranks the amounts."""
    if not lines:
        return {}
    unit, key = GapItem.unit_key.label("unit"), GapItem.item_key.label("key")
    conditions = [GapItem.unit_key.in_(sorted({line[0] for line in lines})),
                  GapItem.at >= period.since, GapItem.at < period.until,
                  GapItem.kind == "authority",
                  sa.tuple_(GapItem.unit_key, GapItem.item_key).in_(lines)]
    if _dialect() == "postgresql":
        query = (select(unit, key,
                        func.percentile_disc(0.8).within_group(GapItem.required),
                        func.percentile_disc(0.95).within_group(GapItem.required),
                        func.max(GapItem.required))
                 .where(*conditions).group_by(GapItem.unit_key, GapItem.item_key))
    else:
        partition = (GapItem.unit_key, GapItem.item_key)
        ranked = (select(unit, key, GapItem.required.label("required"),
                         func.row_number().over(partition_by=partition,
                                                order_by=GapItem.required).label("position"),
                         func.count().over(partition_by=partition).label("size"))
                  .where(*conditions).subquery())

        def percentile(share: int) -> Any:
            reached = ranked.c.position * 100 >= ranked.c.size * share
            return func.min(sa.case((reached, ranked.c.required)))

        query = (select(ranked.c.unit, ranked.c.key, percentile(80), percentile(95),
                        func.max(ranked.c.required))
                 .group_by(ranked.c.unit, ranked.c.key))
    return {(row[0], row[1]): (row[2], row[3], row[4]) for row in db.session.execute(query)}


def _kept_local(org: CachedOrg, period: Period, unit: str, kind: str, key: str,
                change: Change) -> tuple[int, int]:
    """(irritants originating at `unit` that lacked the item there, how many a replay
    of `change` assigns to the unit itself). Only they can stay at their origin."""
    unit_id = org.id_of.get(unit)
    if unit_id is None:
        return 0, 0
    query = (
        select(Irritant.id, Irritant.initial_requirements)
        .where(Irritant.origin_unit_id == unit_id,
               Irritant.id.in_(select(GapItem.irritant_id).where(
                   GapItem.unit_key == unit, GapItem.kind == kind, GapItem.item_key == key,
                   GapItem.at >= period.since, GapItem.at < period.until)))
        .order_by(Irritant.id).limit(REPLAYED_PER_ROW)
    )
    cases = [ReplayCase(irritant_id, unit, Requirements.from_dict(requirements or {}))
             for irritant_id, requirements in db.session.execute(query).tuples()]
    if not cases:
        return 0, 0
    report = replay(org.snapshot, [change], cases, excluded=org.closed)  # as routing does
    return report.replayed, report.resolved_at_origin_after - report.resolved_at_origin_before


# -- the map --------------------------------------------------------------------------------


@dataclass
class MapNode:
    """One unit of the map with its figures over a period."""

    key: str
    name: str
    depth: int
    children: int
    closed: bool
    originated: int = 0
    resolved: int = 0
    top_lack: tuple[str, str, int] | None = None
    """(kind, key, count) of the item it lacked most."""
    child_nodes: list[MapNode] | None = field(default=None)


MAP_CHILDREN_SHOWN = 100


def map_nodes(*, actor: User, keys: Sequence[str], period: Period) -> dict[str, MapNode]:
    """The figures of these units (at most a few hundred), in three grouped queries."""
    _require_director(actor)
    org = cached_org()
    snapshot = org.snapshot
    known = [key for key in dict.fromkeys(keys) if key in snapshot]
    nodes = {key: MapNode(key, snapshot.unit(key).name, snapshot.depth(key),
                          len(snapshot.children(key)), key in org.closed) for key in known}
    if not known:
        return nodes
    ids = [org.id_of[key] for key in known]
    logged = [Irritant.created_at >= period.since, Irritant.created_at < period.until]
    for unit_id, count in db.session.execute(
            select(Irritant.origin_unit_id, func.count())
            .where(Irritant.origin_unit_id.in_(ids), *logged)
            .group_by(Irritant.origin_unit_id)).tuples():
        nodes[org.key_of[unit_id]].originated = int(count)
    for unit_id, count in db.session.execute(
            select(Irritant.assignee_id, func.count())
            .where(Irritant.assignee_id.in_(ids), Irritant.status == "resolved", *logged)
            .group_by(Irritant.assignee_id)).tuples():
        nodes[org.key_of[unit_id]].resolved = int(count)
    lacks = db.session.execute(
        select(GapItem.unit_key, GapItem.kind, GapItem.item_key, func.count())
        .where(GapItem.unit_key.in_(known), GapItem.at >= period.since,
               GapItem.at < period.until)
        .group_by(GapItem.unit_key, GapItem.kind, GapItem.item_key)).tuples()
    for unit, kind, key, count in lacks:
        node = nodes[unit]
        best = node.top_lack
        if best is None or (-count, kind, key) < (-best[2], best[0], best[1]):
            node.top_lack = (kind, key, int(count))
    return nodes


def map_children(*, actor: User, unit: str, period: Period,
                 shown: int = MAP_CHILDREN_SHOWN) -> tuple[list[MapNode], int]:
    """The first `shown` children of a unit with their figures, and how many it has."""
    _require_director(actor)
    snapshot = cached_org().snapshot
    if unit not in snapshot:
        raise NotFound(f"no unit {unit}")
    children = snapshot.children(unit)
    nodes = map_nodes(actor=actor, keys=children[:shown], period=period)
    return [nodes[key] for key in children[:shown]], len(children)


def search_units(*, actor: User, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Units whose key or name contains `text` (any case): {"key", "name", "path"}."""
    _require_director(actor)
    needle = (text or "").strip().lower()
    if not needle:
        return []
    rows = db.session.execute(
        select(Unit.key, Unit.name).where(contains_any_case(needle, Unit.key, Unit.name))
        .order_by(func.length(Unit.name), Unit.name, Unit.key).limit(limit)).tuples().all()
    snapshot = cached_org().snapshot
    return [{"key": key, "name": name,
             "path": list(reversed(snapshot.ancestors(key))) if key in snapshot else [key]}
            for key, name in rows]


def irritant_path(*, actor: User, irritant_id: int) -> dict[str, Any]:
    """Where an irritant went: origin, assignee and the tree path between them.

    {"irritant", "origin", "assignee", "path" (origin up to the lowest common
    ancestor, then down to the assignee, both included), "lca", "gaps" (unit ->
    gap of its last routing)}. NotAllowed, NotFound.
    """
    _require_director(actor)
    irritant = db.session.get(Irritant, irritant_id) if 0 < irritant_id < 2**63 else None
    if irritant is None:
        raise NotFound(f"no irritant {irritant_id}")
    org = cached_org()
    snapshot = org.snapshot
    origin = org.key_of.get(irritant.origin_unit_id)
    assignee = org.key_of.get(irritant.assignee_id)
    if origin not in snapshot or assignee not in snapshot:
        raise NotFound(f"irritant {irritant_id} is outside the org")
    path = [*snapshot.path(origin, assignee), assignee]
    return {
        "irritant": irritant,
        "origin": origin,
        "assignee": assignee,
        "path": path,
        "lca": snapshot.lca(origin, assignee),
        "gaps": {gap.get("unit"): gap for gap in irritant.gaps or []},
    }
