"""diagnostics

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:35:23.852750
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diagnostic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('item_keys', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostic')),
    sa.UniqueConstraint('key', name=op.f('uq_diagnostic_key'))
    )
    op.create_table('diagnostic_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostic_item')),
    sa.UniqueConstraint('key', 'version', name='uq_diagnostic_item_key_version')
    )
    with op.batch_alter_table('diagnostic_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diagnostic_item_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_diagnostic_item_topic'), ['topic'], unique=False)

    op.create_table('misconception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('typical_reasoning', sa.Text(), nullable=False),
    sa.Column('teaching_ideas', sa.JSON(), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_misconception')),
    sa.UniqueConstraint('key', name=op.f('uq_misconception_key'))
    )
    with op.batch_alter_table('misconception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_misconception_topic'), ['topic'], unique=False)

    op.create_table('class_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['teacher_id'], ['user_account.id'], name=op.f('fk_class_group_teacher_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_group')),
    sa.UniqueConstraint('code', name=op.f('uq_class_group_code'))
    )
    with op.batch_alter_table('class_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_group_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('diagnostic_key', sa.String(length=80), nullable=True),
    sa.Column('opens_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['class_group.id'], name=op.f('fk_assignment_class_id_class_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment')),
    sa.UniqueConstraint('public_id', name=op.f('uq_assignment_public_id'))
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_class_id'), ['class_id'], unique=False)

    op.create_table('student',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['class_group.id'], name=op.f('fk_student_class_id_class_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student')),
    sa.UniqueConstraint('class_id', 'code', name='uq_student_class_code')
    )
    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_student_class_id'), ['class_id'], unique=False)

    op.create_table('assignment_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_assignment_item_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['diagnostic_item.id'], name=op.f('fk_assignment_item_item_id_diagnostic_item'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_item'))
    )
    with op.batch_alter_table('assignment_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_item_assignment_id'), ['assignment_id'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_submission_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_submission_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('assignment_id', 'student_id', name='uq_submission_assignment_student')
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_student_id'), ['student_id'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('misconception', sa.String(length=80), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('scored_by', sa.String(length=10), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['diagnostic_item.id'], name=op.f('fk_answer_item_id_diagnostic_item'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_answer_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('submission_id', 'item_id', name='uq_answer_submission_item')
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_submission_id'))

    op.drop_table('answer')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_student_id'))
        batch_op.drop_index(batch_op.f('ix_submission_assignment_id'))

    op.drop_table('submission')
    with op.batch_alter_table('assignment_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_item_assignment_id'))

    op.drop_table('assignment_item')
    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_student_class_id'))

    op.drop_table('student')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_class_id'))

    op.drop_table('assignment')
    with op.batch_alter_table('class_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_group_teacher_id'))

    op.drop_table('class_group')
    with op.batch_alter_table('misconception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_misconception_topic'))

    op.drop_table('misconception')
    with op.batch_alter_table('diagnostic_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_diagnostic_item_topic'))
        batch_op.drop_index(batch_op.f('ix_diagnostic_item_key'))

    op.drop_table('diagnostic_item')
    op.drop_table('diagnostic')
