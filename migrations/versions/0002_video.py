"""video: videos, assets, transcripts, uploads

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 07:31:11.249334
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('video',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('original_filename', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('uploading', 'uploaded', 'probed', 'transcoded', 'transcribed', 'ready', 'failed', name='videostatus', native_enum=False, length=20), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=True),
    sa.Column('step_started_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failed_step', sa.String(length=20), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('container', sa.String(length=40), nullable=True),
    sa.Column('video_codec', sa.String(length=40), nullable=True),
    sa.Column('audio_codec', sa.String(length=40), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('rotation', sa.Integer(), nullable=False),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('has_video', sa.Boolean(), nullable=False),
    sa.Column('has_audio', sa.Boolean(), nullable=False),
    sa.Column('web_mode', sa.String(length=10), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_video_owner_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video')),
    sa.UniqueConstraint('public_id', name=op.f('uq_video_public_id'))
    )
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_status'), ['status'], unique=False)

    op.create_table('transcript',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('corrected_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_transcript_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript')),
    sa.UniqueConstraint('video_id', name=op.f('uq_transcript_video_id'))
    )
    op.create_table('upload',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_upload_owner_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_upload_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload')),
    sa.UniqueConstraint('video_id', name=op.f('uq_upload_video_id'))
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_owner_id'), ['owner_id'], unique=False)

    op.create_table('video_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['video_id'], ['video.id'], name=op.f('fk_video_asset_video_id_video'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_asset')),
    sa.UniqueConstraint('video_id', 'kind', name='uq_video_asset_video_kind')
    )
    with op.batch_alter_table('video_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_asset_video_id'), ['video_id'], unique=False)

    op.create_table('transcript_segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('corrected', sa.Text(), nullable=True),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcript.id'], name=op.f('fk_transcript_segment_transcript_id_transcript'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_segment')),
    sa.UniqueConstraint('transcript_id', 'position', name='uq_transcript_segment_position')
    )
    with op.batch_alter_table('transcript_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_segment_transcript_id'), ['transcript_id'], unique=False)

    # Full-text search over what each transcript line shows (correction or original). Not in the
    # models (Base.metadata): app.migrate.include_object keeps autogenerate from dropping these.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE transcript_fts USING fts5(body, tokenize='unicode61 remove_diacritics 2')")
    else:
        op.execute(
            "CREATE INDEX ix_transcript_segment_fts ON transcript_segment "
            "USING gin (to_tsvector('simple', coalesce(corrected, text)))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS transcript_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_transcript_segment_fts")
    with op.batch_alter_table('transcript_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_segment_transcript_id'))

    op.drop_table('transcript_segment')
    with op.batch_alter_table('video_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_asset_video_id'))

    op.drop_table('video_asset')
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_owner_id'))

    op.drop_table('upload')
    op.drop_table('transcript')
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_status'))
        batch_op.drop_index(batch_op.f('ix_video_owner_id'))

    op.drop_table('video')
