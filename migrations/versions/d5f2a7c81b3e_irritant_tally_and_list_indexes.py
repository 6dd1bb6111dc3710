"""irritant tally (exact list totals by triggers) and the indexes of the lists and the queue

Revision ID: d5f2a7c81b3e
Revises: c3e8a1f4d920
Create Date: 2026-11-23 22:00:00.000000

`irritant_tally` holds signed counts per (origin, assignee, category, status,
severity), appended by triggers on `irritant` (irritants/services/tally.py has
the same statements) and filled here from the irritants already there.
ix_irritant_created becomes (created_at, id); ix_irritant_unresolved_due is the
queue of the whole organisation in its order.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd5f2a7c81b3e'
down_revision = 'c3e8a1f4d920'
branch_labels = None
depends_on = None

KEY = "origin_unit_id, assignee_id, category_id, status, severity"
UNRESOLVED = sa.text("status IN ('open', 'in_progress')")

PG_TRIGGERS = [
    f"""
CREATE OR REPLACE FUNCTION irritant_tally_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO irritant_tally ({KEY}, n)
        VALUES (OLD.origin_unit_id, OLD.assignee_id, OLD.category_id, OLD.status,
                OLD.severity, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO irritant_tally ({KEY}, n)
        VALUES (NEW.origin_unit_id, NEW.assignee_id, NEW.category_id, NEW.status,
                NEW.severity, 1);
    END IF;
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER irritant_tally_insert_delete AFTER INSERT OR DELETE ON irritant "
    "FOR EACH ROW EXECUTE FUNCTION irritant_tally_change()",
    f"CREATE TRIGGER irritant_tally_update AFTER UPDATE OF {KEY} ON irritant "
    "FOR EACH ROW WHEN (OLD.origin_unit_id IS DISTINCT FROM NEW.origin_unit_id "
    "OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id "
    "OR OLD.category_id IS DISTINCT FROM NEW.category_id "
    "OR OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.severity IS DISTINCT FROM NEW.severity) "
    "EXECUTE FUNCTION irritant_tally_change()",
]
_OLD = ", ".join(f"OLD.{c}" for c in KEY.split(", "))
_NEW = ", ".join(f"NEW.{c}" for c in KEY.split(", "))
SQLITE_TRIGGERS = [
    "CREATE TRIGGER irritant_tally_insert AFTER INSERT ON irritant BEGIN "
    f"INSERT INTO irritant_tally ({KEY}, n) VALUES ({_NEW}, 1); END",
    "CREATE TRIGGER irritant_tally_delete AFTER DELETE ON irritant BEGIN "
    f"INSERT INTO irritant_tally ({KEY}, n) VALUES ({_OLD}, -1); END",
    f"CREATE TRIGGER irritant_tally_update AFTER UPDATE OF {KEY} ON irritant "
    "WHEN OLD.origin_unit_id IS NOT NEW.origin_unit_id "
    "OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.category_id IS NOT NEW.category_id "
    "OR OLD.status IS NOT NEW.status OR OLD.severity IS NOT NEW.severity BEGIN "
    f"INSERT INTO irritant_tally ({KEY}, n) VALUES ({_OLD}, -1); "
    f"INSERT INTO irritant_tally ({KEY}, n) VALUES ({_NEW}, 1); END",
]


def upgrade():
    op.create_table(
        'irritant_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('origin_unit_id', sa.Integer(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_irritant_tally_key', 'irritant_tally',
                    ['origin_unit_id', 'assignee_id', 'category_id', 'status', 'severity'],
                    unique=False)
    op.execute(f"INSERT INTO irritant_tally ({KEY}, n) SELECT {KEY}, count(*) FROM irritant "
               f"GROUP BY {KEY}")
    dialect = op.get_bind().dialect.name
    for statement in PG_TRIGGERS if dialect == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)
    op.drop_index('ix_irritant_created', table_name='irritant')
    op.create_index('ix_irritant_created', 'irritant', ['created_at', 'id'], unique=False)
    op.create_index('ix_irritant_unresolved_due', 'irritant', ['due_at', 'id'], unique=False,
                    sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED)


def downgrade():
    op.drop_index('ix_irritant_unresolved_due', table_name='irritant')
    op.drop_index('ix_irritant_created', table_name='irritant')
    op.create_index('ix_irritant_created', 'irritant', ['created_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS irritant_tally_update ON irritant")
        op.execute("DROP TRIGGER IF EXISTS irritant_tally_insert_delete ON irritant")
        op.execute("DROP FUNCTION IF EXISTS irritant_tally_change()")
    else:
        for name in ('irritant_tally_insert', 'irritant_tally_delete', 'irritant_tally_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_irritant_tally_key', table_name='irritant_tally')
    op.drop_table('irritant_tally')
