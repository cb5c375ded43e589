"""provisioning waits for the images service with a deadline; pending removals are rows

Revision ID: 0005_durable_pending_removal
Revises: 0004_masters_image_source
Create Date: 2026-11-30 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_durable_pending_removal'
down_revision = '0004_masters_image_source'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('image_provisioning', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transient_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deadline', sa.DateTime(), nullable=True))

    op.create_table('pending_removal',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=1024), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_removal'))
    )
    with op.batch_alter_table('pending_removal', schema=None) as batch_op:
        batch_op.create_index('ix_pending_removal_next_attempt_at', ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_removal_subject_id'), ['subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_removal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_removal_subject_id'))
        batch_op.drop_index('ix_pending_removal_next_attempt_at')

    op.drop_table('pending_removal')
    with op.batch_alter_table('image_provisioning', schema=None) as batch_op:
        batch_op.drop_column('deadline')
        batch_op.drop_column('transient_failures')
