"""keep voice: the account holder's "don't keep my voice" choice, and recordings whose audio went

Revision ID: 0011_keep_voice
Revises: 0010_fleet
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_keep_voice'
down_revision = '0010_fleet'  # the lead re-chains this after the migrations merged meanwhile
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('keep_voice', sa.String(length=16), server_default='keep', nullable=False))
    with op.batch_alter_table('recordings') as batch:
        batch.add_column(sa.Column('audio_kept', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('recordings') as batch:
        batch.drop_column('audio_kept')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('keep_voice')
