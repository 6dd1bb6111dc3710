"""The gap rollup: a month of gap items in one row per (unit, kind, item).

Gap items are immutable events, written with the routing that recorded them. A
PostgreSQL statement trigger on `gap_item` appends, per inserted batch, a row
per (UTC month, unit, kind, item) with the count and the highest amount asked
and limit held (a delete appends the negative count), in the writer's own
transaction; `fold()` (with every SLA sweep, once a minute) sums the appended
rows into one per key. The ledger of a period then reads the rollup for the
whole months inside it and the gap items themselves for the days at either end
(services/dashboards.py `_gap_lines`): a director's quarter is about half as
many rows, already grouped. The same trigger appends to `gap_item_rollup` a row per
(UTC day, kind, item), every unit together: how often each item was lacked over any
run of whole days, from a few rows (the items lacked most beside the previous
period). SQLite has no such trigger and counts the gap items.
"""

# The SQL below is constant text, never built from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa

from irritants.models import GapItemRollup, GapRollup
from irritants.services.folding import fold as fold_table
from irritants.services.folding import run_on_postgresql

KEY = ("month", "unit_key", "kind", "item_key")
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
REBUILD = [
    "DELETE FROM gap_rollup",
    f"INSERT INTO gap_rollup ({_COLUMNS})"
    + _GROUPED.format(sign="", maxima='max(required), max("limit")', source="gap_item"),
    "DELETE FROM gap_item_rollup",
    f"INSERT INTO gap_item_rollup ({_ITEM_COLUMNS})"
    + _ITEMS_GROUPED.format(sign="", source="gap_item"),
]


def install_triggers(connection: sa.Connection) -> None:
    """Create (or replace) the trigger on PostgreSQL (create_all calls it; the migration
    runs the same statements)."""
    run_on_postgresql(connection, TRIGGERS,
                      ("gap_item", "gap_rollup", "gap_item_rollup"))


def rebuild(connection: sa.Connection) -> None:
    """Count the rollup again from the gap items (after a bulk load with the trigger off)."""
    run_on_postgresql(connection, REBUILD)


def fold() -> int:
    """Fold the appended rows of both rollups into one per key; the number of rows folded."""
    return (fold_table(GapRollup.__table__, KEY, ("n",), FOLD_LOCK,  # type: ignore[arg-type]
                       maxima=("max_required", "max_limit"))
            + fold_table(GapItemRollup.__table__, ITEM_KEY, ("n",),  # type: ignore[arg-type]
                         ITEM_FOLD_LOCK))
