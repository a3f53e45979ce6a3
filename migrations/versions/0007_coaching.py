"""communities, coaching, notifications, exports, clip sharing

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:26:52.010642
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coach_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coach_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('responded_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_coach_link_assigned_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['coach_id'], ['user_account.id'], name=op.f('fk_coach_link_coach_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['user_account.id'], name=op.f('fk_coach_link_teacher_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coach_link'))
    )
    with op.batch_alter_table('coach_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coach_link_coach_id'), ['coach_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coach_link_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_coach_link_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('community',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_community_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_community_organization_id_organization'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community')),
    sa.UniqueConstraint('public_id', name=op.f('uq_community_public_id'))
    )
    op.create_table('data_export',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_data_export_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_export')),
    sa.UniqueConstraint('public_id', name=op.f('uq_data_export_public_id'))
    )
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_export_user_id'), ['user_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)

    op.create_table('coaching_cycle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('focus_goal', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('next_steps', sa.Text(), nullable=False),
    sa.Column('next_steps_agreed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['coach_link.id'], name=op.f('fk_coaching_cycle_link_id_coach_link'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_cycle')),
    sa.UniqueConstraint('public_id', name=op.f('uq_coaching_cycle_public_id'))
    )
    with op.batch_alter_table('coaching_cycle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coaching_cycle_link_id'), ['link_id'], unique=False)

    op.create_table('community_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('added_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_community_member_community_id_community'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_community_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_member')),
    sa.UniqueConstraint('community_id', 'user_id', name='uq_community_member_community_user')
    )
    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_member_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_member_user_id'), ['user_id'], unique=False)

    op.create_table('coaching_cycle_lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('added_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['coaching_cycle.id'], name=op.f('fk_coaching_cycle_lesson_cycle_id_coaching_cycle'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_coaching_cycle_lesson_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_cycle_lesson')),
    sa.UniqueConstraint('cycle_id', 'video_id', name='uq_coaching_cycle_lesson_cycle_video')
    )
    with op.batch_alter_table('coaching_cycle_lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coaching_cycle_lesson_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_cycle_lesson_video_id'), ['video_id'], unique=False)

    with op.batch_alter_table('video_clip', schema=None) as batch_op:
        # Clips made before this revision get cut by the sweeper.
        batch_op.add_column(sa.Column('cut_status', sa.String(length=10), nullable=False,
                                      server_default='pending'))
        batch_op.add_column(sa.Column('cut_key', sa.String(length=300), nullable=True))

    with op.batch_alter_table('video_comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clip_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_video_comment_clip_id'), ['clip_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_video_comment_clip_id_video_clip'), 'video_clip', ['clip_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('video_share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clip_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('community_id', sa.Integer(), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_video_share_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_share_community_id'), ['community_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_video_share_clip_id_video_clip'), 'video_clip', ['clip_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_video_share_community_id_community'), 'community', ['community_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_audience', '(user_id IS NULL) <> (community_id IS NULL)')



def downgrade() -> None:
    op.execute("DELETE FROM video_share WHERE user_id IS NULL")
    with op.batch_alter_table('video_share', schema=None) as batch_op:
        batch_op.drop_constraint('ck_video_share_one_audience', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_video_share_community_id_community'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_video_share_clip_id_video_clip'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_video_share_community_id'))
        batch_op.drop_index(batch_op.f('ix_video_share_clip_id'))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('community_id')
        batch_op.drop_column('clip_id')

    with op.batch_alter_table('video_comment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_video_comment_clip_id_video_clip'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_video_comment_clip_id'))
        batch_op.drop_column('clip_id')

    with op.batch_alter_table('video_clip', schema=None) as batch_op:
        batch_op.drop_column('cut_key')
        batch_op.drop_column('cut_status')

    with op.batch_alter_table('coaching_cycle_lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_cycle_lesson_video_id'))
        batch_op.drop_index(batch_op.f('ix_coaching_cycle_lesson_cycle_id'))

    op.drop_table('coaching_cycle_lesson')
    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_community_member_community_id'))

    op.drop_table('community_member')
    with op.batch_alter_table('coaching_cycle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_cycle_link_id'))

    op.drop_table('coaching_cycle')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))
        batch_op.drop_index(batch_op.f('ix_notification_created_at'))

    op.drop_table('notification')
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_export_user_id'))

    op.drop_table('data_export')
    op.drop_table('community')
    with op.batch_alter_table('coach_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coach_link_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_coach_link_status'))
        batch_op.drop_index(batch_op.f('ix_coach_link_coach_id'))

    op.drop_table('coach_link')
