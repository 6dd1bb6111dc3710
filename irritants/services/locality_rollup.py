"""The locality rollup: the directors' subsidiarity figures without reading a million rows.

`locality_rollup` holds, per (UTC day of logging, unit), the locality counts of
the irritants originating anywhere in the unit's subtree: logged, resolved,
resolved at their origin, escalated, routed (a routing distance known) and the
sum of those distances. A unit's row is its whole subtree, so a director's
whole-organisation quarter is some ninety rows of the root and of each of its
children, whatever the number of irritants (services/dashboards/locality_figures.py
`locality`).

PostgreSQL triggers keep it exact in the writer's own transaction, cheaply:
- on `irritant`, every insert, delete or update of a counted column appends the
  irritant's contribution as a *pending* row of its origin (one row, with a minus
  sign for the old values and a plus sign for the new ones);
- `fold()` (with every SLA sweep, once a minute) expands the pending rows into
  subtree rows of the origin and each of its ancestors, as the tree is then, and
  sums the rows into one per (day, unit, pending);
- on `unit`, a move (a new parent) takes the moved unit's subtree rows away from
  the old ancestors and adds them to the new ones. It first locks the rollup
  against writers and the fold (SHARE ROW EXCLUSIVE), so nothing is expanded
  under a tree it no longer has.
Readers add the pending rows of the subtree's origins (a minute's worth) to the
subtree rows. SQLite, the small embedded database, has no such triggers: its
figures are counted from the irritants themselves.

Unroutable irritants are not in the rollup's distances: theirs is their origin's
depth, which a move changes; the dashboards count those few (about 1 %) from a
partial index.
"""

# The SQL below is constant text, never built from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa

from irritants.extensions import db
from irritants.models import LocalityRollup
from irritants.services.folding import fold as fold_table
from irritants.services.folding import run_on_postgresql

KEY = ("day", "unit_id", "pending")
MEASURES = ("logged", "resolved", "at_origin", "escalated", "routings", "distance")
FOLD_LOCK = 72_615_002  # pg_try_advisory_xact_lock key: one fold at a time
_COLUMNS = ", ".join(KEY + MEASURES)
_COUNTED = ("created_at", "origin_unit_id", "assignee_id", "status", "escalation_level",
            "excluded", "rank")

# A unit and its ancestors (a hop limit guards against a cycle the app would refuse).
_LINEAGE = """
CREATE OR REPLACE FUNCTION unit_lineage(start_id integer) RETURNS TABLE (id integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (id, parent_id, hops) AS (
        SELECT unit.id, unit.parent_id, 0 FROM unit WHERE unit.id = start_id
        UNION ALL
        SELECT unit.id, unit.parent_id, up.hops + 1 FROM unit JOIN up ON unit.id = up.parent_id
        WHERE up.hops < 100
    )
    SELECT up.id FROM up
$$"""


def _pending_row(record: str, sign: str) -> str:
    """The INSERT of one irritant's contribution (`record`: OLD or NEW), times `sign`, as a
    pending row of its origin: one row, no walk up the tree, in the writer's transaction."""
    return f"""
        INSERT INTO locality_rollup ({_COLUMNS}) VALUES (
            ({record}.created_at AT TIME ZONE 'UTC')::date, {record}.origin_unit_id, true,
            {sign}1,
            CASE WHEN {record}.status = 'resolved' THEN {sign}1 ELSE 0 END,
            CASE WHEN {record}.status = 'resolved'
                      AND {record}.assignee_id = {record}.origin_unit_id
                 THEN {sign}1 ELSE 0 END,
            CASE WHEN {record}.escalation_level > 0
                      OR (jsonb_typeof({record}.excluded) = 'array'
                          AND jsonb_array_length({record}.excluded) > 0)
                 THEN {sign}1 ELSE 0 END,
            CASE WHEN ({record}.rank ->> 0) IS NOT NULL THEN {sign}1 ELSE 0 END,
            {sign}coalesce(({record}.rank ->> 0)::integer, 0));"""


_CHANGE = f"""
CREATE OR REPLACE FUNCTION locality_rollup_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN{_pending_row("OLD", "-")}
    END IF;
    IF TG_OP <> 'DELETE' THEN{_pending_row("NEW", "")}
    END IF;
    RETURN NULL;
END
$$"""

_MOVE = f"""
CREATE OR REPLACE FUNCTION locality_rollup_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE locality_rollup IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO locality_rollup ({_COLUMNS})
    SELECT moved.day, lineage.id, false, lineage.sign * moved.logged,
           lineage.sign * moved.resolved, lineage.sign * moved.at_origin,
           lineage.sign * moved.escalated, lineage.sign * moved.routings,
           lineage.sign * moved.distance
    FROM (SELECT day, sum(logged) AS logged, sum(resolved) AS resolved,
                 sum(at_origin) AS at_origin, sum(escalated) AS escalated,
                 sum(routings) AS routings, sum(distance) AS distance
          FROM locality_rollup WHERE unit_id = NEW.id AND NOT pending GROUP BY day) AS moved
    CROSS JOIN (SELECT id, -1 AS sign FROM unit_lineage(OLD.parent_id)
                UNION ALL
                SELECT id, 1 AS sign FROM unit_lineage(NEW.parent_id)) AS lineage;
    RETURN NULL;
END
$$"""

_SUMS = ", ".join(f"sum({name}) AS {name}" for name in MEASURES)
# The pending rows committed so far, summed per (day, origin), become subtree rows of the
# origin and each of its ancestors (as the tree is now).
EXPAND = f"""
WITH taken AS (
    DELETE FROM locality_rollup WHERE pending RETURNING {", ".join(("day", "unit_id", *MEASURES))}
), per_origin AS (
    SELECT day, unit_id, {_SUMS} FROM taken GROUP BY day, unit_id
)
INSERT INTO locality_rollup ({_COLUMNS})
SELECT per_origin.day, lineage.id, false, {", ".join(f"per_origin.{name}" for name in MEASURES)}
FROM per_origin CROSS JOIN LATERAL unit_lineage(per_origin.unit_id) AS lineage"""

_CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in _COUNTED)
TRIGGERS = [
    _LINEAGE, _CHANGE, _MOVE,
    "DROP TRIGGER IF EXISTS locality_rollup_insert_delete ON irritant",
    "CREATE TRIGGER locality_rollup_insert_delete AFTER INSERT OR DELETE ON irritant "
    "FOR EACH ROW EXECUTE FUNCTION locality_rollup_change()",
    "DROP TRIGGER IF EXISTS locality_rollup_update ON irritant",
    f"CREATE TRIGGER locality_rollup_update AFTER UPDATE OF {', '.join(_COUNTED)} ON irritant "
    f"FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION locality_rollup_change()",
    "DROP TRIGGER IF EXISTS locality_rollup_move ON unit",
    "CREATE TRIGGER locality_rollup_move AFTER UPDATE OF parent_id ON unit "
    "FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id) "
    "EXECUTE FUNCTION locality_rollup_move()",
]
DISABLE = ["ALTER TABLE irritant DISABLE TRIGGER locality_rollup_insert_delete",
           "ALTER TABLE irritant DISABLE TRIGGER locality_rollup_update"]
ENABLE = ["ALTER TABLE irritant ENABLE TRIGGER locality_rollup_insert_delete",
          "ALTER TABLE irritant ENABLE TRIGGER locality_rollup_update"]
# Every irritant counted again, per (day, origin) first, then for each ancestor.
REBUILD = [
    "DELETE FROM locality_rollup",
    f"""
INSERT INTO locality_rollup ({_COLUMNS})
WITH RECURSIVE closure (unit_id, ancestor_id, hops) AS (
    SELECT id, id, 0 FROM unit
    UNION ALL
    SELECT closure.unit_id, unit.parent_id, closure.hops + 1
    FROM closure JOIN unit ON unit.id = closure.ancestor_id
    WHERE unit.parent_id IS NOT NULL AND closure.hops < 100
), per_origin AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, origin_unit_id, count(*) AS logged,
           count(*) FILTER (WHERE status = 'resolved') AS resolved,
           count(*) FILTER (WHERE status = 'resolved' AND assignee_id = origin_unit_id)
               AS at_origin,
           count(*) FILTER (WHERE escalation_level > 0 OR (jsonb_typeof(excluded) = 'array'
                                                           AND jsonb_array_length(excluded) > 0))
               AS escalated,
           count(rank ->> 0) AS routings,
           coalesce(sum((rank ->> 0)::integer), 0) AS distance
    FROM irritant GROUP BY 1, 2
)
SELECT per_origin.day, closure.ancestor_id, false, sum(logged), sum(resolved), sum(at_origin),
       sum(escalated), sum(routings), sum(distance)
FROM per_origin JOIN closure ON closure.unit_id = per_origin.origin_unit_id
GROUP BY 1, 2, 3""",
]


DROP = [
    "DROP TRIGGER IF EXISTS locality_rollup_move ON unit",
    "DROP TRIGGER IF EXISTS locality_rollup_update ON irritant",
    "DROP TRIGGER IF EXISTS locality_rollup_insert_delete ON irritant",
    "DROP FUNCTION IF EXISTS locality_rollup_move()",
    "DROP FUNCTION IF EXISTS locality_rollup_change()",
    "DROP FUNCTION IF EXISTS unit_lineage(integer)",
]


def install_triggers(connection: sa.Connection) -> None:
    """Create (or replace) the functions and triggers on PostgreSQL (create_all calls it;
    the migration runs the same statements)."""
    run_on_postgresql(connection, TRIGGERS, ("irritant", "unit", "locality_rollup"))


def drop_triggers(connection: sa.Connection) -> None:
    """Drop the functions, which depend on the irritant's row type (before drop_all)."""
    run_on_postgresql(connection, DROP, ("irritant", "unit"))


def rebuild(connection: sa.Connection) -> None:
    """Count the rollup again from the irritants (after a bulk load with the triggers off)."""
    run_on_postgresql(connection, REBUILD)


def fold() -> int:
    """Expand the pending rows to the subtree rows of their origin's lineage (PostgreSQL),
    then fold the rows into one per (day, unit); the number of rows folded."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text(EXPAND))
        db.session.commit()
    return fold_table(LocalityRollup.__table__, KEY, MEASURES, FOLD_LOCK)  # type: ignore[arg-type]
