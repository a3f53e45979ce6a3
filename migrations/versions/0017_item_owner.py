"""A teacher's own items: diagnostic_item.owner_id (None for the shared bank).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('diagnostic_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_diagnostic_item_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_diagnostic_item_owner_id_user_account'), 'user_account',
                                    ['owner_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('diagnostic_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_diagnostic_item_owner_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_diagnostic_item_owner_id'))
        batch_op.drop_column('owner_id')
