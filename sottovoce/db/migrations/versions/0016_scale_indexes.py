"""scale indexes: the sampler's accidental-activation flag and unscored hypotheses at 1M recordings

Revision ID: 0016_scale_indexes
Revises: 0014_staff_shifts
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_scale_indexes'
down_revision = '0014_staff_shifts'
branch_labels = None
depends_on = None

UNSCORED = 'word_count > 0 AND (min_confidence IS NULL OR mean_confidence IS NULL)'


def upgrade() -> None:
    # benchmarks/scale_bench.py: flagging accidental activations read every recording (0.9 s at 1M);
    # with this it is a set difference of two small partial indexes.
    op.create_index('ix_recordings_accidental', 'recordings', ['id'], unique=False,
                    postgresql_where=sa.text('likely_accidental IS true'), sqlite_where=sa.text('likely_accidental IS true'))
    # The sampler's unscored candidates were a sequential scan of hypotheses (0.2 s at 1M).
    op.create_index('ix_hypotheses_unscored', 'hypotheses', ['recording_id'], unique=False,
                    postgresql_where=sa.text(UNSCORED), sqlite_where=sa.text(UNSCORED))


def downgrade() -> None:
    op.drop_index('ix_hypotheses_unscored', table_name='hypotheses')
    op.drop_index('ix_recordings_accidental', table_name='recordings')
