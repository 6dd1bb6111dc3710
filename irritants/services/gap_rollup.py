"""The gap rollup: a month of gap items in one row per (unit, kind, item), and each
line's running totals by month.

Gap items are immutable events, written with the routing that recorded them. A
PostgreSQL statement trigger on `gap_item` appends, per inserted batch, a row
per (UTC month, unit, kind, item) with the count and the highest amount asked
and limit held (a delete appends the negative count), in the writer's own
transaction; `fold()` (with every SLA sweep, once a minute) sums the appended
rows into one folded row per key and writes again, for the lines it touched,
their `gap_line` row: the running totals of the line's folded months, so that
the count of any run of whole months is two subscripts of one row. The ledger
of a period (services/dashboards/gaps.py `_line_counts`) then reads one gap_line
row per line, the rows appended since the last fold, and the gap items of the hours
between the period's ends and the nearest month starts: no grouping of the
80,000 lines of a director's quarter. The same trigger appends to
`gap_item_rollup` a row per (UTC day, kind, item), every unit together: how
often each item was lacked over any run of whole days, from a few rows (the
items lacked most beside the previous period). SQLite has no such trigger and
counts the gap items.
"""

# The SQL below is constant text, never built from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa

from irritants.extensions import db
from irritants.models import GapItemRollup, GapRollup
from irritants.services.folding import fold as fold_table
from irritants.services.folding import run_on_postgresql

ITEM_KEY = ("day", "kind", "item_key")
FOLD_LOCK = 72_615_003  # pg_try_advisory_xact_lock keys: one fold of each table at a time
ITEM_FOLD_LOCK = 72_615_004
_COLUMNS = "month, unit_key, kind, item_key, n, max_required, max_limit"
_GROUPED = """
    SELECT (date_trunc('month', at AT TIME ZONE 'UTC'))::date, unit_key, kind, item_key,
           {sign} count(*), {maxima}
    FROM {source} GROUP BY 1, 2, 3, 4"""
_ITEM_COLUMNS = "day, kind, item_key, n"
_ITEMS_GROUPED = """
    SELECT (at AT TIME ZONE 'UTC')::date, kind, item_key, {sign} count(*)
    FROM {source} GROUP BY 1, 2, 3"""


def _appending(function: str, sign: str, maxima: str, rows: str) -> str:
    """A statement trigger function appending the grouped `rows` (a transition table)
    to both rollups."""
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_rollup ({_COLUMNS})
    {_GROUPED.format(sign=sign, maxima=maxima, source=rows)};
    INSERT INTO gap_item_rollup ({_ITEM_COLUMNS})
    {_ITEMS_GROUPED.format(sign=sign, source=rows)};
    RETURN NULL;
END
$$"""


TRIGGERS = [
    _appending("gap_rollup_insert", "", 'max(required), max("limit")', "inserted"),
    # A delete takes the count back; the highest amounts stay (gap items are events:
    # only tests delete them).
    _appending("gap_rollup_delete", "-", "NULL::numeric, NULL::numeric", "deleted"),
    "DROP TRIGGER IF EXISTS gap_rollup_insert ON gap_item",
    "CREATE TRIGGER gap_rollup_insert AFTER INSERT ON gap_item REFERENCING NEW TABLE AS "
    "inserted FOR EACH STATEMENT EXECUTE FUNCTION gap_rollup_insert()",
    "DROP TRIGGER IF EXISTS gap_rollup_delete ON gap_item",
    "CREATE TRIGGER gap_rollup_delete AFTER DELETE ON gap_item REFERENCING OLD TABLE AS "
    "deleted FOR EACH STATEMENT EXECUTE FUNCTION gap_rollup_delete()",
]
DROP = [
    "DROP TRIGGER IF EXISTS gap_rollup_insert ON gap_item",
    "DROP TRIGGER IF EXISTS gap_rollup_delete ON gap_item",
    "DROP FUNCTION IF EXISTS gap_rollup_insert()",
    "DROP FUNCTION IF EXISTS gap_rollup_delete()",
]
DISABLE = ["ALTER TABLE gap_item DISABLE TRIGGER gap_rollup_insert"]
ENABLE = ["ALTER TABLE gap_item ENABLE TRIGGER gap_rollup_insert"]
# The running totals of lines (gap_line) from their folded month rows: every month from
# a line's first to its last (empty months included), summed in order into one array.
_LINES = """
INSERT INTO gap_line (unit_key, kind, item_key, start, cum)
WITH months AS (
    SELECT r.unit_key, r.kind, r.item_key,
           extract(year FROM r.month)::int * 12 + extract(month FROM r.month)::int - 1 AS m,
           sum(r.n) AS n
    FROM gap_rollup r {touched} WHERE r.folded GROUP BY 1, 2, 3, 4),
spans AS (
    SELECT unit_key, kind, item_key, min(m) AS first, max(m) AS last
    FROM months GROUP BY 1, 2, 3),
every_month AS (
    SELECT s.unit_key, s.kind, s.item_key, s.first, g.m, coalesce(months.n, 0) AS n
    FROM spans s CROSS JOIN LATERAL generate_series(s.first, s.last) AS g(m)
    LEFT JOIN months ON (months.unit_key, months.kind, months.item_key, months.m)
                        = (s.unit_key, s.kind, s.item_key, g.m))
SELECT unit_key, kind, item_key, first, array_agg(running::int ORDER BY m)
FROM (SELECT every_month.*, sum(n) OVER (PARTITION BY unit_key, kind, item_key ORDER BY m)
             AS running FROM every_month) AS totals
GROUP BY unit_key, kind, item_key, first"""
# The lines a fold touched, passed as three arrays.
_TOUCHED = """unnest(CAST(:units AS text[]), CAST(:kinds AS text[]), CAST(:items AS text[]))
    AS t(unit_key, kind, item_key)"""
REBUILD = [
    "DELETE FROM gap_rollup",
    f"INSERT INTO gap_rollup ({_COLUMNS}, folded)"
    + _GROUPED.format(sign="", maxima='max(required), max("limit"), true', source="gap_item"),
    "DELETE FROM gap_line",
    _LINES.format(touched=""),
    "DELETE FROM gap_item_rollup",
    f"INSERT INTO gap_item_rollup ({_ITEM_COLUMNS})"
    + _ITEMS_GROUPED.format(sign="", source="gap_item"),
]
# One fold of gap_rollup: every key with rows appended since the last fold becomes one
# folded row (its folded rows too, and rows up to `top` only: a row appended meanwhile
# waits for the next fold); returns the lines touched, one row per folded row deleted.
_FOLD_MONTHS = f"""
WITH pending AS (
    SELECT DISTINCT month, unit_key, kind, item_key FROM gap_rollup
    WHERE NOT folded AND id <= :top),
gone AS (
    DELETE FROM gap_rollup r USING pending p
    WHERE (r.folded OR r.id <= :top) AND (r.month, r.unit_key, r.kind, r.item_key)
                                         = (p.month, p.unit_key, p.kind, p.item_key)
    RETURNING r.*),
summed AS (
    INSERT INTO gap_rollup ({_COLUMNS}, folded)
    SELECT month, unit_key, kind, item_key, sum(n), max(max_required), max(max_limit), true
    FROM gone GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0)
SELECT unit_key, kind, item_key, count(*) FROM gone GROUP BY 1, 2, 3"""
_DROP_LINES = f"""
DELETE FROM gap_line l USING {_TOUCHED}
WHERE (l.unit_key, l.kind, l.item_key) = (t.unit_key, t.kind, t.item_key)"""


def install_triggers(connection: sa.Connection) -> None:
    """Create (or replace) the trigger on PostgreSQL (create_all calls it; the migration
    runs the same statements)."""
    run_on_postgresql(connection, TRIGGERS,
                      ("gap_item", "gap_rollup", "gap_item_rollup"))


def rebuild(connection: sa.Connection) -> None:
    """Count the rollup again from the gap items (after a bulk load with the trigger off)."""
    run_on_postgresql(connection, REBUILD)


def fold() -> int:
    """Fold the appended rows of both rollups into one per key, and the lines they touch
    into gap_line; the number of rows folded."""
    return _fold_months() + fold_table(GapItemRollup.__table__, ITEM_KEY,  # type: ignore[arg-type]
                                       ("n",), ITEM_FOLD_LOCK)


def _fold_months() -> int:
    """gap_rollup's fold, in one transaction: the appended rows summed into folded ones,
    then the touched lines' running totals written again. PostgreSQL only (the trigger's)."""
    session = db.session
    if session.get_bind().dialect.name != "postgresql" or not session.scalar(
            sa.select(sa.func.pg_try_advisory_xact_lock(FOLD_LOCK))):
        session.rollback()
        return 0
    top = session.scalar(sa.select(sa.func.max(GapRollup.id)).where(~GapRollup.folded))
    if top is None:
        session.rollback()
        return 0
    touched = session.execute(sa.text(_FOLD_MONTHS), {"top": top}).all()
    lines = {"units": [row[0] for row in touched], "kinds": [row[1] for row in touched],
             "items": [row[2] for row in touched]}
    session.execute(sa.text(_DROP_LINES), lines)
    session.execute(sa.text(_LINES.format(touched=f"JOIN {_TOUCHED} USING (unit_key, kind, "
                                                   "item_key)")), lines)
    session.commit()
    return sum(int(row[3]) for row in touched)
