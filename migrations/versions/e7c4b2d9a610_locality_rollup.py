"""directors' rollups (locality, gaps; PostgreSQL triggers), root-cause columns in ix_irritant_created, unroutable index

Revision ID: e7c4b2d9a610
Revises: d5f2a7c81b3e
Create Date: 2026-12-04 13:30:00.000000

`locality_rollup` holds the directors' locality counts per (day, unit) of each
unit's subtree, kept by PostgreSQL triggers on `irritant` and `unit` and filled
here from the irritants already there (irritants/services/locality_rollup.py
holds the statements; CREATE OR REPLACE makes them safe to run again).
`gap_rollup` counts gap items per (month, unit, kind, item), appended by a
statement trigger on `gap_item` (irritants/services/gap_rollup.py).
ix_irritant_created carries the root causes' columns on PostgreSQL, ix_gap_item_at the
ledgers' columns.
"""
from alembic import op
import sqlalchemy as sa

from irritants.services import gap_rollup
from irritants.services.locality_rollup import DROP, REBUILD, TRIGGERS

# revision identifiers, used by Alembic.
revision = 'e7c4b2d9a610'
down_revision = 'd5f2a7c81b3e'
branch_labels = None
depends_on = None

GAP_LEDGER_COLUMNS = ["unit_key", "kind", "item_key", "required", "limit", "event_id"]
ROOT_CAUSE_COLUMNS = ["origin_unit_id", "assignee_id", "category_id", "status", "root_cause",
                      "due_at", "unroutable", "occurrences"]


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
        for statement in [*TRIGGERS, *REBUILD, *gap_rollup.TRIGGERS, *gap_rollup.REBUILD]:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in [*DROP, *gap_rollup.DROP]:
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
