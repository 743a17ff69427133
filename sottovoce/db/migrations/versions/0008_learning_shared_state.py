"""learning: a generation counter that every process checks before decoding; re-transcription requests

Revision ID: 0008_learning_shared_state
Revises: 0007_concurrency
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0008_learning_shared_state'
# Branch point: the lead's 0007 lands in parallel; on merge this becomes its down_revision.
down_revision = '0007_concurrency'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('learning_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_state'))
    )
    op.bulk_insert(table, [{"id": 1, "generation": 0}])
    op.create_table('retranscriptions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('version_id', sa.String(length=32), nullable=True),
    sa.Column('requested_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_retranscriptions_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retranscriptions'))
    )
    with op.batch_alter_table('retranscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retranscriptions_recording_id'), ['recording_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('retranscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retranscriptions_recording_id'))
    op.drop_table('retranscriptions')
    op.drop_table('learning_state')
