"""staff shifts: each reviewer's shift hours in their own time zone (the off-shift abuse rule)

Revision ID: 0014_staff_shifts
Revises: 0013_sensitive_review
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_staff_shifts'
down_revision = '0013_sensitive_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('shift_start_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('shift_end_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('time_zone')
        batch.drop_column('shift_end_hour')
        batch.drop_column('shift_start_hour')
