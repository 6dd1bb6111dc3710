"""directors' rollups (locality, gaps; PostgreSQL triggers), root-cause columns in ix_irritant_created, unroutable index

Revision ID: e7c4b2d9a610
Revises: d5f2a7c81b3e
Create Date: 2026-12-04 13:30:00.000000

`locality_rollup` holds the directors' locality counts per (day, unit) of each
unit's subtree, kept by PostgreSQL triggers on `irritant` and `unit` and filled
here from the irritants already there (the statements of irritants/services/
locality_rollup.py at this revision, copied below; CREATE OR REPLACE makes them safe
to run again).
`gap_rollup` counts gap items per (month, unit, kind, item), appended by a
statement trigger on `gap_item` (irritants/services/gap_rollup.py).
ix_irritant_created carries the root causes' columns on PostgreSQL, ix_gap_item_at the
ledgers' columns.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e7c4b2d9a610'
down_revision = 'd5f2a7c81b3e'
branch_labels = None
depends_on = None

GAP_LEDGER_COLUMNS = ["unit_key", "kind", "item_key", "required", "limit", "event_id"]
ROOT_CAUSE_COLUMNS = ["origin_unit_id", "assignee_id", "category_id", "status", "root_cause",
                      "due_at", "unroutable", "occurrences"]

# The rollups' statements as they stood at this revision, frozen here (not imported
# from the service modules, which later revisions change).

LOCALITY_TRIGGERS = [
    """
CREATE OR REPLACE FUNCTION unit_lineage(start_id integer) RETURNS TABLE (id integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (id, parent_id, hops) AS (
        SELECT unit.id, unit.parent_id, 0 FROM unit WHERE unit.id = start_id
        UNION ALL
        SELECT unit.id, unit.parent_id, up.hops + 1 FROM unit JOIN up ON unit.id = up.parent_id
        WHERE up.hops < 100
    )
    SELECT up.id FROM up
$$""",
    """
CREATE OR REPLACE FUNCTION locality_rollup_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO locality_rollup (day, unit_id, pending, logged, resolved, at_origin, escalated, routings, distance) VALUES (
            (OLD.created_at AT TIME ZONE 'UTC')::date, OLD.origin_unit_id, true,
            -1,
            CASE WHEN OLD.status = 'resolved' THEN -1 ELSE 0 END,
            CASE WHEN OLD.status = 'resolved'
                      AND OLD.assignee_id = OLD.origin_unit_id
                 THEN -1 ELSE 0 END,
            CASE WHEN OLD.escalation_level > 0
                      OR (jsonb_typeof(OLD.excluded) = 'array'
                          AND jsonb_array_length(OLD.excluded) > 0)
                 THEN -1 ELSE 0 END,
            CASE WHEN (OLD.rank ->> 0) IS NOT NULL THEN -1 ELSE 0 END,
            -coalesce((OLD.rank ->> 0)::integer, 0));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO locality_rollup (day, unit_id, pending, logged, resolved, at_origin, escalated, routings, distance) VALUES (
            (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.origin_unit_id, true,
            1,
            CASE WHEN NEW.status = 'resolved' THEN 1 ELSE 0 END,
            CASE WHEN NEW.status = 'resolved'
                      AND NEW.assignee_id = NEW.origin_unit_id
                 THEN 1 ELSE 0 END,
            CASE WHEN NEW.escalation_level > 0
                      OR (jsonb_typeof(NEW.excluded) = 'array'
                          AND jsonb_array_length(NEW.excluded) > 0)
                 THEN 1 ELSE 0 END,
            CASE WHEN (NEW.rank ->> 0) IS NOT NULL THEN 1 ELSE 0 END,
            coalesce((NEW.rank ->> 0)::integer, 0));
    END IF;
    RETURN NULL;
END
$$""",
    """
CREATE OR REPLACE FUNCTION locality_rollup_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE locality_rollup IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO locality_rollup (day, unit_id, pending, logged, resolved, at_origin, escalated, routings, distance)
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
$$""",
    'DROP TRIGGER IF EXISTS locality_rollup_insert_delete ON irritant',
    'CREATE TRIGGER locality_rollup_insert_delete AFTER INSERT OR DELETE ON irritant FOR EACH ROW EXECUTE FUNCTION locality_rollup_change()',
    'DROP TRIGGER IF EXISTS locality_rollup_update ON irritant',
    'CREATE TRIGGER locality_rollup_update AFTER UPDATE OF created_at, origin_unit_id, assignee_id, status, escalation_level, excluded, rank ON irritant FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.origin_unit_id IS DISTINCT FROM NEW.origin_unit_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.status IS DISTINCT FROM NEW.status OR OLD.escalation_level IS DISTINCT FROM NEW.escalation_level OR OLD.excluded IS DISTINCT FROM NEW.excluded OR OLD.rank IS DISTINCT FROM NEW.rank) EXECUTE FUNCTION locality_rollup_change()',
    'DROP TRIGGER IF EXISTS locality_rollup_move ON unit',
    'CREATE TRIGGER locality_rollup_move AFTER UPDATE OF parent_id ON unit FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id) EXECUTE FUNCTION locality_rollup_move()',
]

LOCALITY_REBUILD = [
    'DELETE FROM locality_rollup',
    """
INSERT INTO locality_rollup (day, unit_id, pending, logged, resolved, at_origin, escalated, routings, distance)
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

LOCALITY_DROP = [
    'DROP TRIGGER IF EXISTS locality_rollup_move ON unit',
    'DROP TRIGGER IF EXISTS locality_rollup_update ON irritant',
    'DROP TRIGGER IF EXISTS locality_rollup_insert_delete ON irritant',
    'DROP FUNCTION IF EXISTS locality_rollup_move()',
    'DROP FUNCTION IF EXISTS locality_rollup_change()',
    'DROP FUNCTION IF EXISTS unit_lineage(integer)',
]

GAP_TRIGGERS = [
    """
CREATE OR REPLACE FUNCTION gap_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_rollup (month, unit_key, kind, item_key, n, max_required, max_limit)

    SELECT (date_trunc('month', at AT TIME ZONE 'UTC'))::date, unit_key, kind, item_key,
            count(*), max(required), max("limit")
    FROM inserted GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END
$$""",
    """
CREATE OR REPLACE FUNCTION gap_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_rollup (month, unit_key, kind, item_key, n, max_required, max_limit)

    SELECT (date_trunc('month', at AT TIME ZONE 'UTC'))::date, unit_key, kind, item_key,
           - count(*), NULL::numeric, NULL::numeric
    FROM deleted GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END
$$""",
    'DROP TRIGGER IF EXISTS gap_rollup_insert ON gap_item',
    'CREATE TRIGGER gap_rollup_insert AFTER INSERT ON gap_item REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION gap_rollup_insert()',
    'DROP TRIGGER IF EXISTS gap_rollup_delete ON gap_item',
    'CREATE TRIGGER gap_rollup_delete AFTER DELETE ON gap_item REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION gap_rollup_delete()',
]

GAP_REBUILD = [
    'DELETE FROM gap_rollup',
    """INSERT INTO gap_rollup (month, unit_key, kind, item_key, n, max_required, max_limit)
    SELECT (date_trunc('month', at AT TIME ZONE 'UTC'))::date, unit_key, kind, item_key,
            count(*), max(required), max("limit")
    FROM gap_item GROUP BY 1, 2, 3, 4""",
]

GAP_DROP = [
    'DROP TRIGGER IF EXISTS gap_rollup_insert ON gap_item',
    'DROP TRIGGER IF EXISTS gap_rollup_delete ON gap_item',
    'DROP FUNCTION IF EXISTS gap_rollup_insert()',
    'DROP FUNCTION IF EXISTS gap_rollup_delete()',
]


def upgrade():
    op.create_table(
        'locality_rollup',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Boolean(), nullable=False),
        sa.Column('logged', sa.Integer(), nullable=False),
        sa.Column('resolved', sa.Integer(), nullable=False),
        sa.Column('at_origin', sa.Integer(), nullable=False),
        sa.Column('escalated', sa.Integer(), nullable=False),
        sa.Column('routings', sa.Integer(), nullable=False),
        sa.Column('distance', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_locality_rollup_unit_day', 'locality_rollup', ['unit_id', 'day'],
                    unique=False)
    op.create_index('ix_locality_rollup_pending', 'locality_rollup', ['day'], unique=False,
                    sqlite_where=sa.text('pending'), postgresql_where=sa.text('pending'))
    op.create_table(
        'gap_rollup',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('unit_key', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('item_key', sa.String(length=100), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('max_required', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('max_limit', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_gap_rollup_month_kind', 'gap_rollup', ['month', 'kind'], unique=False)
    op.create_index('ix_irritant_unroutable_created', 'irritant', ['created_at'], unique=False,
                    sqlite_where=sa.text('unroutable'), postgresql_where=sa.text('unroutable'))
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_irritant_created', table_name='irritant')
        op.create_index('ix_irritant_created', 'irritant', ['created_at', 'id'], unique=False,
                        postgresql_include=ROOT_CAUSE_COLUMNS)
        op.drop_index('ix_gap_item_at', table_name='gap_item')
        op.create_index('ix_gap_item_at', 'gap_item', ['at'], unique=False,
                        postgresql_include=GAP_LEDGER_COLUMNS)
        for statement in [*LOCALITY_TRIGGERS, *LOCALITY_REBUILD, *GAP_TRIGGERS, *GAP_REBUILD]:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in [*LOCALITY_DROP, *GAP_DROP]:
            op.execute(statement)
        op.drop_index('ix_irritant_created', table_name='irritant')
        op.create_index('ix_irritant_created', 'irritant', ['created_at', 'id'], unique=False)
        op.drop_index('ix_gap_item_at', table_name='gap_item')
        op.create_index('ix_gap_item_at', 'gap_item', ['at'], unique=False)
    op.drop_index('ix_irritant_unroutable_created', table_name='irritant')
    op.drop_index('ix_gap_rollup_month_kind', table_name='gap_rollup')
    op.drop_table('gap_rollup')
    op.drop_index('ix_locality_rollup_pending', table_name='locality_rollup')
    op.drop_index('ix_locality_rollup_unit_day', table_name='locality_rollup')
    op.drop_table('locality_rollup')
