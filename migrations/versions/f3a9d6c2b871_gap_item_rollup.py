"""gap_item_rollup: gap items per (UTC day, kind, item), every unit together; ix_gap_item_line_at

Revision ID: f3a9d6c2b871
Revises: e7c4b2d9a610
Create Date: 2026-12-04 16:00:00.000000

The items lacked most are shown beside their count in the previous period; that
count came from every unit's lines of the previous period. `gap_item_rollup`
holds it in a few rows per day. On PostgreSQL the gap rollup's trigger functions
are replaced by versions that append to both rollups, and the new rollup is
filled from the gap items already there. The statements are those of
irritants/services/gap_rollup.py at this revision, copied here.
ix_gap_item_line_at finds one (unit, kind, item) line's gap items over a time range
(the ledger page's 50 lines, a grant's before and after), covering the amounts on
PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f3a9d6c2b871'
down_revision = 'e7c4b2d9a610'
branch_labels = None
depends_on = None

FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION gap_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_rollup (month, unit_key, kind, item_key, n, max_required, max_limit)

    SELECT (date_trunc('month', at AT TIME ZONE 'UTC'))::date, unit_key, kind, item_key,
            count(*), max(required), max("limit")
    FROM inserted GROUP BY 1, 2, 3, 4;
    INSERT INTO gap_item_rollup (day, kind, item_key, n)

    SELECT (at AT TIME ZONE 'UTC')::date, kind, item_key,  count(*)
    FROM inserted GROUP BY 1, 2, 3;
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
    INSERT INTO gap_item_rollup (day, kind, item_key, n)

    SELECT (at AT TIME ZONE 'UTC')::date, kind, item_key, - count(*)
    FROM deleted GROUP BY 1, 2, 3;
    RETURN NULL;
END
$$""",
]

FILL = [
    'DELETE FROM gap_item_rollup',
    """INSERT INTO gap_item_rollup (day, kind, item_key, n)
    SELECT (at AT TIME ZONE 'UTC')::date, kind, item_key,  count(*)
    FROM gap_item GROUP BY 1, 2, 3""",
]

# The functions as e7c4b2d9a610 installed them: the gap rollup only.
PREVIOUS_FUNCTIONS = [
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
]


def upgrade():
    op.create_table(
        'gap_item_rollup',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('item_key', sa.String(length=100), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_gap_item_rollup_day', 'gap_item_rollup', ['day'], unique=False)
    op.create_index('ix_gap_item_line_at', 'gap_item', ['unit_key', 'kind', 'item_key', 'at'],
                    unique=False, postgresql_include=['required', 'limit'])
    if op.get_bind().dialect.name == 'postgresql':
        for statement in [*FUNCTIONS, *FILL]:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in PREVIOUS_FUNCTIONS:
            op.execute(statement)
    op.drop_index('ix_gap_item_line_at', table_name='gap_item')
    op.drop_index('ix_gap_item_rollup_day', table_name='gap_item_rollup')
    op.drop_table('gap_item_rollup')
