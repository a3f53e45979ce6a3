"""bank in every language: topics, texts of misconceptions and diagnostics, a class's language and digits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diagnostic_topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostic_topic')),
    sa.UniqueConstraint('key', name=op.f('uq_diagnostic_topic_key'))
    )
    with op.batch_alter_table('misconception', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texts', sa.JSON(), nullable=True))
    with op.batch_alter_table('diagnostic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texts', sa.JSON(), nullable=True))
    # Existing classes keep what they had: English, Western digits.
    with op.batch_alter_table('class_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('digits', sa.String(length=12), server_default='western', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('class_group', schema=None) as batch_op:
        batch_op.drop_column('digits')
        batch_op.drop_column('language')
    with op.batch_alter_table('diagnostic', schema=None) as batch_op:
        batch_op.drop_column('texts')
    with op.batch_alter_table('misconception', schema=None) as batch_op:
        batch_op.drop_column('texts')
    op.drop_table('diagnostic_topic')
