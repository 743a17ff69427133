"""account holder: sign-in links, sessions, deletion receipts

Revision ID: 0004_account_holder
Revises: 0003_review

NOTE: no existing data changes: three new tables and one index on recordings. Downgrading drops
deletion_receipts, and with it any deletion still pending: run `sottovoce init` (start-up recovery
completes pending deletions) before downgrading, or the interrupted deletions are forgotten.
"""
from alembic import op
import sqlalchemy as sa
import sottovoce.db.types

revision = '0004_account_holder'
down_revision = '0003_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deletion_receipts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recording_ids', sa.Text(), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('requested_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('completed_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_receipts'))
    )
    with op.batch_alter_table('deletion_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_receipts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deletion_receipts_status'), ['status'], unique=False)

    op.create_table('account_login_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', sottovoce.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_login_links_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_account_login_links'))
    )
    with op.batch_alter_table('account_login_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_login_links_account_id'), ['account_id'], unique=False)

    op.create_table('account_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sottovoce.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_sessions_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_account_sessions'))
    )
    with op.batch_alter_table('account_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_sessions_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index('ix_recordings_device_received', ['device_id', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index('ix_recordings_device_received')

    with op.batch_alter_table('account_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_sessions_account_id'))

    op.drop_table('account_sessions')
    with op.batch_alter_table('account_login_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_login_links_account_id'))

    op.drop_table('account_login_links')
    with op.batch_alter_table('deletion_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_receipts_status'))
        batch_op.drop_index(batch_op.f('ix_deletion_receipts_account_id'))

    op.drop_table('deletion_receipts')
