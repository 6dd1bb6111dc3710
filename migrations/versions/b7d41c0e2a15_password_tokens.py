"""password tokens: single-use, expiring, hashed set-password links (invites and resets)

Revision ID: b7d41c0e2a15
Revises: 9205eb587fe0
Create Date: 2026-11-23 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import irritants.models

# revision identifiers, used by Alembic.
revision = 'b7d41c0e2a15'
down_revision = '9205eb587fe0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('created_at', irritants.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', irritants.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', irritants.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', irritants.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('password_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_token_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('password_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_token_user_id'))

    op.drop_table('password_token')
