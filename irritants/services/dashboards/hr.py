"""The HR view: competency gaps as a training plan, authority gaps as delegation
proposals, each row with what a replay granting the item would keep at its origin.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import GapItem, Irritant, User
from irritants.routing import Change, ReplayCase, Requirements, replay
from irritants.services.dashboards.common import (
    Period,
    Table,
    _dialect,
    _number,
    _page,
    _require_gap_reader,
    _unit_keys,
    readable_subtree,
)
from irritants.services.dashboards.gaps import _held, _line_counts
from irritants.services.snapshot import CachedOrg, cached_org

REPLAYED_PER_ROW = 5_000
"""At most this many irritants replayed per training-plan or delegation row."""


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
