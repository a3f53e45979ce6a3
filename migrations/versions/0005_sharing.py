"""sharing, consent, audit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:07:18.327828
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_public_id', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_event_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_audit_event_owner_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_video_public_id'), ['video_public_id'], unique=False)

    op.create_table('video_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('right', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_video_share_user_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_video_share_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_share'))
    )
    with op.batch_alter_table('video_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_share_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_share_video_id'), ['video_id'], unique=False)

    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=10), nullable=False, server_default='none'))
        batch_op.add_column(sa.Column('consent_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('consent_date', app.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.drop_column('consent_date')
        batch_op.drop_column('consent_note')
        batch_op.drop_column('consent')

    with op.batch_alter_table('video_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_share_video_id'))
        batch_op.drop_index(batch_op.f('ix_video_share_user_id'))

    op.drop_table('video_share')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_video_public_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_owner_id'))

    op.drop_table('audit_event')
