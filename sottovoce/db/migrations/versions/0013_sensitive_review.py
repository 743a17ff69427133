"""sensitive review: stop reasons, the pre-screen's category per task, reviewers' category opt-ins and
exposure cool-down, and sealed workbench drafts

Revision ID: 0013_sensitive_review
Revises: 0011_keep_voice
"""
from alembic import op
import sqlalchemy as sa

from sottovoce.db.types import UTCDateTime

revision = '0013_sensitive_review'
down_revision = '0011_keep_voice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_tasks') as batch:
        batch.add_column(sa.Column('sensitivity', sa.String(length=16), server_default='', nullable=False))
    with op.batch_alter_table('annotations') as batch:
        batch.add_column(sa.Column('stop_reason', sa.String(length=16), nullable=True))
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('review_opt_ins', sa.String(length=100), server_default='', nullable=False))
        batch.add_column(sa.Column('review_cooldown_until', UTCDateTime(), nullable=True))
    op.create_table(
        'review_drafts',
        sa.Column('task_id', sa.String(length=32), sa.ForeignKey('review_tasks.id', ondelete='CASCADE', name='fk_review_drafts_task_id_review_tasks'), nullable=False),
        sa.Column('reviewer_id', sa.String(length=32), nullable=False),
        sa.Column('sealed_content', sa.LargeBinary(), nullable=False),
        sa.Column('saved_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('task_id', name='pk_review_drafts'),
    )


def downgrade() -> None:
    op.drop_table('review_drafts')
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('review_cooldown_until')
        batch.drop_column('review_opt_ins')
    with op.batch_alter_table('annotations') as batch:
        batch.drop_column('stop_reason')
    with op.batch_alter_table('review_tasks') as batch:
        batch.drop_column('sensitivity')
