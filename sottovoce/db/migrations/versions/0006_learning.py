"""learning: dataset snapshots with lineage, model versions, exports

Revision ID: 0006_learning
Revises: 0005_zero_tolerance
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0006_learning'
down_revision = '0005_zero_tolerance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset_snapshots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('train_count', sa.Integer(), nullable=False),
    sa.Column('eval_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_snapshots'))
    )
    op.create_table('export_records',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('destination', sa.Text(), nullable=False),
    sa.Column('anonymized', sa.Boolean(), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_records'))
    )
    op.create_table('model_versions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('base_model', sa.String(length=64), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('snapshot_id', sa.String(length=32), nullable=True),
    sa.Column('metrics', sa.Text(), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('activated_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('name', name=op.f('uq_model_versions_name'))
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_versions_snapshot_id'), ['snapshot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_status'), ['status'], unique=False)

    op.create_table('export_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('export_id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['export_records.id'], name=op.f('fk_export_items_export_id_export_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_items'))
    )
    with op.batch_alter_table('export_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_items_export_id'), ['export_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_items_recording_id'), ['recording_id'], unique=False)

    op.create_table('dataset_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('snapshot_id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=32), nullable=False),
    sa.Column('split', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_dataset_items_recording_id_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['dataset_snapshots.id'], name=op.f('fk_dataset_items_snapshot_id_dataset_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_items'))
    )
    with op.batch_alter_table('dataset_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_items_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_items_snapshot_id'), ['snapshot_id'], unique=False)

    with op.batch_alter_table('hypotheses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_hypotheses_version_id'), ['version_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hypotheses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hypotheses_version_id'))
        batch_op.drop_column('version_id')

    with op.batch_alter_table('dataset_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_items_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_dataset_items_recording_id'))

    op.drop_table('dataset_items')
    with op.batch_alter_table('export_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_items_recording_id'))
        batch_op.drop_index(batch_op.f('ix_export_items_export_id'))

    op.drop_table('export_items')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_versions_status'))
        batch_op.drop_index(batch_op.f('ix_model_versions_snapshot_id'))

    op.drop_table('model_versions')
    op.drop_table('export_records')
    op.drop_table('dataset_snapshots')
