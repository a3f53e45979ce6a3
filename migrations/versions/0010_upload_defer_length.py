"""an upload's length may be deferred (tus creation-defer-length): a recording is uploaded while it is made

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.alter_column('length', existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # An unfinished upload whose length was never given cannot be kept without one: it is forgotten (its video
    # stays "uploading", which the owner deletes or records again).
    op.execute("DELETE FROM upload WHERE length IS NULL")
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.alter_column('length', existing_type=sa.BigInteger(), nullable=False)
