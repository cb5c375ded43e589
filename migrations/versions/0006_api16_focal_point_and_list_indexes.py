"""image focal point; indexes for lists sorted by name and size

Revision ID: 0006_api16_focal_point
Revises: 0005_durable_pending_removal
Create Date: 2026-11-30 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_api16_focal_point'
down_revision = '0005_durable_pending_removal'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('focal_x', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('focal_y', sa.Float(), nullable=True))
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.create_index('ix_file_workspace_id_name_id', ['workspace_id', 'name', 'id'], unique=False)
        batch_op.create_index('ix_file_workspace_id_size_id', ['workspace_id', 'size', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.drop_index('ix_file_workspace_id_size_id')
        batch_op.drop_index('ix_file_workspace_id_name_id')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_column('focal_y')
        batch_op.drop_column('focal_x')
