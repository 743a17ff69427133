"""fleet: wrapped system keys (master-key rotation), job leases (worker processes), scale indexes

Revision ID: 0010_fleet
Revises: 0008_learning_shared_state (re-chain onto the newest revision when merging)
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0010_fleet'
down_revision = '0008_learning_shared_state'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('system_keys',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_system_keys'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sottovoce.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_jobs_status_lease', ['status', 'lease_expires_at'], unique=False)
    # Scale (benchmarks/scale_bench.py): the sampler reads candidates in confidence order and counts
    # recent samples through these instead of loading every candidate.
    op.create_index('ix_hypotheses_confidence', 'hypotheses', ['min_confidence', 'mean_confidence', 'id'], unique=False,
                    postgresql_where=sa.text('word_count > 0'), sqlite_where=sa.text('word_count > 0'))
    op.create_index('ix_hypotheses_empty', 'hypotheses', ['recording_id'], unique=False,
                    postgresql_where=sa.text('word_count = 0'), sqlite_where=sa.text('word_count = 0'))
    op.create_index('ix_recordings_sampled_at', 'recordings', ['sampled_at'], unique=False,
                    postgresql_where=sa.text('sampled_at IS NOT NULL'), sqlite_where=sa.text('sampled_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_recordings_sampled_at', table_name='recordings')
    op.drop_index('ix_hypotheses_empty', table_name='hypotheses')
    op.drop_index('ix_hypotheses_confidence', table_name='hypotheses')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_lease')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('worker_id')
    op.drop_table('system_keys')
