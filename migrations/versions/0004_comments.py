"""comments and observation frameworks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:49.893047
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('observation_framework',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation_framework')),
    sa.UniqueConstraint('key', 'version', name='uq_observation_framework_key_version')
    )
    with op.batch_alter_table('observation_framework', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_framework_key'), ['key'], unique=False)

    op.create_table('video_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('quote', sa.Text(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_video_comment_author_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['video_comment.id'], name=op.f('fk_video_comment_parent_id_video_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_video_comment_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_comment'))
    )
    with op.batch_alter_table('video_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_comment_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_comment_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_comment_video_id'), ['video_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('video_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_comment_video_id'))
        batch_op.drop_index(batch_op.f('ix_video_comment_parent_id'))
        batch_op.drop_index(batch_op.f('ix_video_comment_author_id'))

    op.drop_table('video_comment')
    with op.batch_alter_table('observation_framework', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_framework_key'))

    op.drop_table('observation_framework')
