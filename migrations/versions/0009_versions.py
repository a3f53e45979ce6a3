"""version counters of a lesson's feedback and of a transcript (keys of the web processes' answer caches)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('transcript', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('transcript', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.drop_column('feedback_version')
