"""learning: a generation counter that every process checks before decoding

Revision ID: 0008_learning_generation
Revises: 0006_learning
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_learning_generation'
# Branch point: the lead's 0007 lands in parallel; on merge this becomes its down_revision.
down_revision = '0006_learning'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('learning_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_state'))
    )
    op.bulk_insert(table, [{"id": 1, "generation": 0}])


def downgrade() -> None:
    op.drop_table('learning_state')
