"""review: consent history, tasks, tickets, annotations, gold, adjudication

Revision ID: 0003_review
Revises: 0002_staff_audit
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0003_review'
down_revision = '0002_staff_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consent_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Boolean(), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_consent_changes_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_changes'))
    )
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_changes_account_id'), ['account_id'], unique=False)

    op.create_table('adjudications',
    sa.Column('group_id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('supervisor_id', sa.String(length=32), nullable=False),
    sa.Column('sealed_text', sa.LargeBinary(), nullable=False),
    sa.Column('at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_adjudications_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_adjudications'))
    )
    with op.batch_alter_table('adjudications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adjudications_recording_id'), ['recording_id'], unique=False)

    op.create_table('gold_references',
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('sealed_text', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_gold_references_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('recording_id', name=op.f('pk_gold_references'))
    )
    op.create_table('review_tasks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lease_holder', sa.String(length=32), nullable=True),
    sa.Column('lease_expires_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.Column('rendered_blob_id', sa.String(length=32), nullable=True),
    sa.Column('render_params', sa.Text(), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_review_tasks_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_review_tasks_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tasks')),
    sa.UniqueConstraint('rendered_blob_id', name=op.f('uq_review_tasks_rendered_blob_id'))
    )
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_tasks_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_tasks_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_tasks_lease_holder'), ['lease_holder'], unique=False)
        batch_op.create_index('ix_review_tasks_queue', ['status', 'priority', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_tasks_recording_id'), ['recording_id'], unique=False)

    op.create_table('annotations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('task_id', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('reviewer_id', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('sealed_content', sa.LargeBinary(), nullable=True),
    sa.Column('tags', sa.String(length=200), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('edit_count', sa.Integer(), nullable=False),
    sa.Column('pii_misses', sa.Integer(), nullable=False),
    sa.Column('time_spent_ms', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_annotations_recording_id_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['review_tasks.id'], name=op.f('fk_annotations_task_id_review_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations'))
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotations_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_task_id'), ['task_id'], unique=False)

    op.create_table('audio_tickets',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=32), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['review_tasks.id'], name=op.f('fk_audio_tickets_task_id_review_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_audio_tickets'))
    )
    with op.batch_alter_table('audio_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audio_tickets_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sampled_at', sottovoce.db.types.UTCDateTime(), nullable=True))
        # NOTE: existing recordings are not known to be accidental; the sampler flags them when it
        # next looks at them (empty hypothesis), so false is the right starting value.
        batch_op.add_column(sa.Column('likely_accidental', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_column('likely_accidental')
        batch_op.drop_column('sampled_at')

    with op.batch_alter_table('audio_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audio_tickets_task_id'))

    op.drop_table('audio_tickets')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotations_task_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_recording_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_group_id'))

    op.drop_table('annotations')
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_tasks_recording_id'))
        batch_op.drop_index('ix_review_tasks_queue')
        batch_op.drop_index(batch_op.f('ix_review_tasks_lease_holder'))
        batch_op.drop_index(batch_op.f('ix_review_tasks_group_id'))
        batch_op.drop_index(batch_op.f('ix_review_tasks_account_id'))

    op.drop_table('review_tasks')
    op.drop_table('gold_references')
    with op.batch_alter_table('adjudications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjudications_recording_id'))

    op.drop_table('adjudications')
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_changes_account_id'))

    op.drop_table('consent_changes')
