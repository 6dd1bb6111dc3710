"""The gap ledger: what the units of a subtree lacked in a period, beside the previous
period, and the items lacked most.

On PostgreSQL the gap figures read gap_line, each line's running totals by month
(services/gap_rollup.py), kept by triggers; SQLite counts the gap items themselves:
same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import GapItem, GapItemRollup, GapLine, GapRollup, User
from irritants.services.dashboards.common import (
    Period,
    Table,
    _dialect,
    _midnight_before,
    _next_midnight,
    _number,
    _page,
    _require_gap_reader,
    _unit_keys,
    readable_subtree,
)
from irritants.services.errors import InvalidInput
from irritants.services.messages import _
from irritants.services.snapshot import CachedOrg, cached_org, plain_amount

KINDS = ("competency", "authority", "tool")


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
