"""The locality rollup: the directors' subsidiarity figures without reading a million rows.

`locality_rollup` holds, per (UTC day of logging, unit), the locality counts of
the irritants originating anywhere in the unit's subtree: logged, resolved,
resolved at their origin, escalated, routed (a routing distance known) and the
sum of those distances. A unit's row is its whole subtree, so a director's
whole-organisation quarter is some ninety rows of the root and of each of its
children, whatever the number of irritants (services/dashboards.py `locality`).

PostgreSQL triggers keep it exact in the writer's own transaction:
- on `irritant`, every insert, delete or update of a counted column appends the
  irritant's contribution, with a minus sign for the old values and a plus sign
  for the new ones, to its origin and each of the origin's ancestors;
- on `unit`, a move (a new parent) takes the moved unit's rows, which hold its
  whole subtree, away from the old ancestors and adds them to the new ones. It
  first locks the rollup against writers (SHARE ROW EXCLUSIVE), so an irritant
  logged in the moved subtree meanwhile is counted under the ancestors it ends
  up with.
`fold()` (with every SLA sweep, once a minute) sums the appended rows into one
per (day, unit). SQLite, the small embedded database, has no such triggers: its
figures are counted from the irritants themselves.

Unroutable irritants are not in the rollup's distances: theirs is their origin's
depth, which a move changes; the dashboards count those few (about 1 %) from a
partial index.
"""

# The SQL below is constant text, never built from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa

from irritants.models import LocalityRollup
from irritants.services.folding import fold as fold_table
from irritants.services.folding import run_on_postgresql

KEY = ("day", "unit_id")
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

# One irritant's contribution, times `sign`, to its origin and every ancestor.
_ADD = f"""
CREATE OR REPLACE FUNCTION locality_rollup_add(r irritant, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO locality_rollup ({_COLUMNS})
    SELECT (r.created_at AT TIME ZONE 'UTC')::date, lineage.id, sign,
           CASE WHEN r.status = 'resolved' THEN sign ELSE 0 END,
           CASE WHEN r.status = 'resolved' AND r.assignee_id = r.origin_unit_id
                THEN sign ELSE 0 END,
           CASE WHEN r.escalation_level > 0 OR (jsonb_typeof(r.excluded) = 'array'
                                                AND jsonb_array_length(r.excluded) > 0)
                THEN sign ELSE 0 END,
           CASE WHEN (r.rank ->> 0) IS NOT NULL THEN sign ELSE 0 END,
           sign * coalesce((r.rank ->> 0)::integer, 0)
    FROM unit_lineage(r.origin_unit_id) AS lineage
$$"""

_CHANGE = """
CREATE OR REPLACE FUNCTION locality_rollup_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM locality_rollup_add(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM locality_rollup_add(NEW, 1);
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
    SELECT moved.day, lineage.id, lineage.sign * moved.logged, lineage.sign * moved.resolved,
           lineage.sign * moved.at_origin, lineage.sign * moved.escalated,
           lineage.sign * moved.routings, lineage.sign * moved.distance
    FROM (SELECT day, sum(logged) AS logged, sum(resolved) AS resolved,
                 sum(at_origin) AS at_origin, sum(escalated) AS escalated,
                 sum(routings) AS routings, sum(distance) AS distance
          FROM locality_rollup WHERE unit_id = NEW.id GROUP BY day) AS moved
    CROSS JOIN (SELECT id, -1 AS sign FROM unit_lineage(OLD.parent_id)
                UNION ALL
                SELECT id, 1 AS sign FROM unit_lineage(NEW.parent_id)) AS lineage;
    RETURN NULL;
END
$$"""

_CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in _COUNTED)
TRIGGERS = [
    _LINEAGE, _ADD, _CHANGE, _MOVE,
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
SELECT per_origin.day, closure.ancestor_id, sum(logged), sum(resolved), sum(at_origin),
       sum(escalated), sum(routings), sum(distance)
FROM per_origin JOIN closure ON closure.unit_id = per_origin.origin_unit_id
GROUP BY 1, 2""",
]


DROP = [
    "DROP TRIGGER IF EXISTS locality_rollup_move ON unit",
    "DROP TRIGGER IF EXISTS locality_rollup_update ON irritant",
    "DROP TRIGGER IF EXISTS locality_rollup_insert_delete ON irritant",
    "DROP FUNCTION IF EXISTS locality_rollup_move()",
    "DROP FUNCTION IF EXISTS locality_rollup_change()",
    "DROP FUNCTION IF EXISTS locality_rollup_add(irritant, integer)",
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
    """Fold the appended rows into one per (day, unit); the number of rows folded."""
    return fold_table(LocalityRollup.__table__, KEY, MEASURES, FOLD_LOCK)  # type: ignore[arg-type]
