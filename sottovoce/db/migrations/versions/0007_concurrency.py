"""concurrency: the audit chain head row (appends serialize on it)

Revision ID: 0007_concurrency
Revises: 0006_learning
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_concurrency'
down_revision = '0006_learning'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # Start from the chain as it stands (or the genesis hash for an empty log).
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) "
        "SELECT 1, COALESCE(MAX(seq), 0), COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), "
        "'0000000000000000000000000000000000000000000000000000000000000000') FROM audit_events"
    )


def downgrade() -> None:
    op.drop_table('audit_head')
