"""outbox lease: locked_until, the delivery lease and the retry-not-before time

Revision ID: c3e8a1f4d920
Revises: b7d41c0e2a15
Create Date: 2026-11-23 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import irritants.models

# revision identifiers, used by Alembic.
revision = 'c3e8a1f4d920'
down_revision = 'b7d41c0e2a15'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', irritants.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
