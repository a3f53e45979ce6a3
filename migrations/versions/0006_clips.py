"""clips

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:31:05.620265
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('video_clip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['user_account.id'], name=op.f('fk_video_clip_creator_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_video_clip_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_clip')),
    sa.UniqueConstraint('public_id', name=op.f('uq_video_clip_public_id'))
    )
    with op.batch_alter_table('video_clip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_clip_creator_id'), ['creator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_clip_video_id'), ['video_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('video_clip', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_clip_video_id'))
        batch_op.drop_index(batch_op.f('ix_video_clip_creator_id'))

    op.drop_table('video_clip')
