"""gap_line: each (unit, kind, item) line's running totals by month; gap_rollup.folded

Revision ID: a4c7e2f9b310
Revises: f3a9d6c2b871
Create Date: 2026-12-04 18:30:00.000000

The gap ledger ranked every line of a period by grouping its month rows (80,000
lines from 139,000 rows for a quarter at 1,000,000 irritants). `gap_line` holds
one row per line with its running totals by month, so a run of whole months is
counted from one row per line without grouping; `gap_rollup.folded` tells the rows
already counted there from those appended since the last fold. On PostgreSQL the
rows present are marked folded and gap_line is filled from them. The fill is that
of irritants/services/gap_rollup.py at this revision, copied here.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a4c7e2f9b310'
down_revision = 'f3a9d6c2b871'
branch_labels = None
depends_on = None

FILL = [
    'UPDATE gap_rollup SET folded = true',
    """
INSERT INTO gap_line (unit_key, kind, item_key, start, cum)
WITH months AS (
    SELECT r.unit_key, r.kind, r.item_key,
           extract(year FROM r.month)::int * 12 + extract(month FROM r.month)::int - 1 AS m,
           sum(r.n) AS n
    FROM gap_rollup r  WHERE r.folded GROUP BY 1, 2, 3, 4),
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
GROUP BY unit_key, kind, item_key, first""",
]


def upgrade():
    op.create_table(
        'gap_line',
        sa.Column('unit_key', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('item_key', sa.String(length=100), nullable=False),
        sa.Column('start', sa.Integer(), nullable=False),
        sa.Column('cum', postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), 'sqlite'),
                  nullable=False),
        sa.PrimaryKeyConstraint('unit_key', 'kind', 'item_key'),
    )
    with op.batch_alter_table('gap_rollup') as batch_op:
        batch_op.add_column(sa.Column('folded', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_index('ix_gap_rollup_pending', 'gap_rollup', ['month'], unique=False,
                    postgresql_where=sa.text('NOT folded'))
    if op.get_bind().dialect.name == 'postgresql':
        for statement in FILL:
            op.execute(statement)


def downgrade():
    op.drop_index('ix_gap_rollup_pending', table_name='gap_rollup',
                  postgresql_where=sa.text('NOT folded'))
    with op.batch_alter_table('gap_rollup') as batch_op:
        batch_op.drop_column('folded')
    op.drop_table('gap_line')
