"""Locality: where the irritants originating in a subtree were resolved, over time and
per unit (subsidiarity figures).

On PostgreSQL, locality reads locality_rollup (services/locality_rollup.py: per day
and unit, each unit's subtree), kept by triggers; SQLite counts the rows themselves:
same results.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import Irritant, LocalityRollup, User
from irritants.services import locality_rollup
from irritants.services.dashboards.common import (
    BUCKETS,
    Period,
    _bucket,
    _day,
    _dialect,
    _distance,
    _json_length,
    _next_midnight,
    _require_director,
    _unit_ids,
    readable_subtree,
)
from irritants.services.errors import InvalidInput
from irritants.services.messages import _
from irritants.services.snapshot import CachedOrg, cached_org


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
