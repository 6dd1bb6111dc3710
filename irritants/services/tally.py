"""Exact list totals without counting a million rows: the irritant tally.

`irritant_tally` holds signed counts of irritants per (origin unit, assignee,
category, status, severity). Database triggers on `irritant` append a +1 row for
every irritant written and a -1 row for the key it leaves (an update of one of
those columns, a delete), in the writer's own transaction, so the sum over any
set of keys is, in any snapshot, the exact number of irritants with those keys.
Appending (never updating a shared counter row) means writers never wait on each
other nor deadlock. `compact()` (run with every SLA sweep, once a minute) folds
the appended rows back into one row per key, so a total stays a sum over a few
tens of thousands of rows, whatever the number of irritants.

The list totals of directors, admins and leads read it (services/queues.py);
filters the tally has no column for (root cause, reporter, overdue) and agents'
lists (scoped by reporter) count the irritants themselves, on indexes.
"""

# The SQL below is built from constant column names only, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from irritants.extensions import db
from irritants.models import Irritant, IrritantTally
from irritants.services.folding import fold

KEY = ("origin_unit_id", "assignee_id", "category_id", "status", "severity")
_KEY_LIST = ", ".join(KEY)
COMPACT_LOCK = 72_615_001  # pg_try_advisory_xact_lock key: one compaction at a time

# The triggers, per dialect (the Alembic migration creates the same ones).
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION irritant_tally_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO irritant_tally ({_KEY_LIST}, n)
        VALUES (OLD.origin_unit_id, OLD.assignee_id, OLD.category_id, OLD.status,
                OLD.severity, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO irritant_tally ({_KEY_LIST}, n)
        VALUES (NEW.origin_unit_id, NEW.assignee_id, NEW.category_id, NEW.status,
                NEW.severity, 1);
    END IF;
    RETURN NULL;
END
$$"""
_CHANGED_PG = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in KEY)
_CHANGED_SQLITE = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in KEY)
_OLD = ", ".join(f"OLD.{column}" for column in KEY)
_NEW = ", ".join(f"NEW.{column}" for column in KEY)
TRIGGERS: dict[str, list[str]] = {
    "postgresql": [
        _PG_FUNCTION,
        "DROP TRIGGER IF EXISTS irritant_tally_insert_delete ON irritant",
        "CREATE TRIGGER irritant_tally_insert_delete AFTER INSERT OR DELETE ON irritant "
        "FOR EACH ROW EXECUTE FUNCTION irritant_tally_change()",
        "DROP TRIGGER IF EXISTS irritant_tally_update ON irritant",
        f"CREATE TRIGGER irritant_tally_update AFTER UPDATE OF {_KEY_LIST} ON irritant "
        f"FOR EACH ROW WHEN ({_CHANGED_PG}) EXECUTE FUNCTION irritant_tally_change()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS irritant_tally_insert",
        "CREATE TRIGGER irritant_tally_insert AFTER INSERT ON irritant BEGIN "
        f"INSERT INTO irritant_tally ({_KEY_LIST}, n) VALUES ({_NEW}, 1); END",
        "DROP TRIGGER IF EXISTS irritant_tally_delete",
        "CREATE TRIGGER irritant_tally_delete AFTER DELETE ON irritant BEGIN "
        f"INSERT INTO irritant_tally ({_KEY_LIST}, n) VALUES ({_OLD}, -1); END",
        "DROP TRIGGER IF EXISTS irritant_tally_update",
        f"CREATE TRIGGER irritant_tally_update AFTER UPDATE OF {_KEY_LIST} ON irritant "
        f"WHEN {_CHANGED_SQLITE} BEGIN "
        f"INSERT INTO irritant_tally ({_KEY_LIST}, n) VALUES ({_OLD}, -1); "
        f"INSERT INTO irritant_tally ({_KEY_LIST}, n) VALUES ({_NEW}, 1); END",
    ],
}
DISABLE = {
    "postgresql": ["ALTER TABLE irritant DISABLE TRIGGER irritant_tally_insert_delete",
                   "ALTER TABLE irritant DISABLE TRIGGER irritant_tally_update"],
    "sqlite": ["DROP TRIGGER IF EXISTS irritant_tally_insert",
               "DROP TRIGGER IF EXISTS irritant_tally_delete",
               "DROP TRIGGER IF EXISTS irritant_tally_update"],
}
ENABLE = {
    "postgresql": ["ALTER TABLE irritant ENABLE TRIGGER irritant_tally_insert_delete",
                   "ALTER TABLE irritant ENABLE TRIGGER irritant_tally_update"],
    "sqlite": TRIGGERS["sqlite"],
}
REBUILD = [
    "DELETE FROM irritant_tally",
    f"INSERT INTO irritant_tally ({_KEY_LIST}, n) SELECT {_KEY_LIST}, count(*) "
    f"FROM irritant GROUP BY {_KEY_LIST}",
]


def install_triggers(connection: sa.Connection) -> None:
    """Create (or replace) the triggers on `irritant` (create_all calls it; so does the
    migration, with its own copy of these statements)."""
    inspector = sa.inspect(connection)
    if not (inspector.has_table("irritant") and inspector.has_table("irritant_tally")):
        return
    for statement in TRIGGERS.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


def rebuild(connection: sa.Connection) -> None:
    """Recount the tally from the irritants (after a bulk load done with the triggers off)."""
    for statement in REBUILD:
        connection.exec_driver_sql(statement)


def total(conditions: list[sa.ColumnElement[bool]]) -> int:
    """The number of irritants whose keys match the conditions (on IrritantTally columns)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(IrritantTally.n), 0)).where(*conditions)
    return int(db.session.execute(query).scalar_one())


def compact() -> int:
    """Fold the appended rows into one row per key (and drop the keys that sum to zero),
    in one short transaction; returns the number of rows folded (services/folding.py)."""
    return fold(IrritantTally.__table__, KEY, ("n",), COMPACT_LOCK)


def check() -> dict[tuple[Any, ...], tuple[int, int]]:
    """Keys whose tally differs from a count of the irritants: {key: (tally, count)} (tests)."""
    columns = [getattr(Irritant, column) for column in KEY]
    counted = {tuple(row[:-1]): row[-1] for row in db.session.execute(
        sa.select(*columns, sa.func.count()).group_by(*columns))}
    tally_columns = [getattr(IrritantTally, column) for column in KEY]
    tallied = {tuple(row[:-1]): int(row[-1]) for row in db.session.execute(
        sa.select(*tally_columns, sa.func.sum(IrritantTally.n)).group_by(*tally_columns))}
    return {key: (tallied.get(key, 0), counted.get(key, 0))
            for key in counted.keys() | tallied.keys()
            if tallied.get(key, 0) != counted.get(key, 0)}
