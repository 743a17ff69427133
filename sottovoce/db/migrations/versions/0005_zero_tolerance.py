"""abuse alerts, break-glass requests, reviewer suspension

Revision ID: 0005_zero_tolerance
Revises: 0004_account_holder
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0005_zero_tolerance'
down_revision = '0004_account_holder'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('resolved_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_staff_id'), ['staff_id'], unique=False)

    op.create_table('reid_requests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('task_id', sa.String(length=32), nullable=False),
    sa.Column('requester_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approver_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('approved_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.Column('revealed_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reid_requests'))
    )
    with op.batch_alter_table('reid_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reid_requests_task_id'), ['task_id'], unique=False)

    # NOTE: a plain CREATE INDEX, never a batch table rebuild: rebuilding audit_events on SQLite
    # would drop its append-only triggers (migration 0002).
    op.create_index('ix_audit_events_actor_action_at', 'audit_events', ['actor', 'action', 'at'], unique=False)

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        # NOTE: nobody is suspended when this arrives.
        batch_op.add_column(sa.Column('review_suspended', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('review_suspended')

    op.drop_index('ix_audit_events_actor_action_at', table_name='audit_events')

    with op.batch_alter_table('reid_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reid_requests_task_id'))

    op.drop_table('reid_requests')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_staff_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_rule'))

    op.drop_table('alerts')
