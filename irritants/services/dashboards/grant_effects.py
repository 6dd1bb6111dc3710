"""Grants, before and after: the grants made in a period, each with the unit's gap items
and locality figures over equal windows either side of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import AuditEvent, GapItem, Irritant, User, utcnow
from irritants.services.dashboards.common import (
    Period,
    _aware,
    _require_gap_reader,
    _unit_keys,
    readable_subtree,
)
from irritants.services.dashboards.locality_figures import _Figures, _figures_of, _locality_columns
from irritants.services.snapshot import CachedOrg, cached_org

GRANT_WINDOW = timedelta(days=90)
"""The longest window compared before and after a grant."""


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
