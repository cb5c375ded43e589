"""lists: the one query engine sorts names in any case, so the workspace's name index is on lower(name)

Revision ID: 0011_list_name_sort_lower
Revises: 0010_idempotent_answer
Create Date: 2026-12-05 00:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_list_name_sort_lower'
down_revision = '0010_idempotent_answer'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_file_workspace_id_lower_name_id', 'file', ['workspace_id', sa.text('lower(name)'), 'id'])
    op.drop_index('ix_file_workspace_id_name_id', table_name='file')


def downgrade():
    op.create_index('ix_file_workspace_id_name_id', 'file', ['workspace_id', 'name', 'id'])
    op.drop_index('ix_file_workspace_id_lower_name_id', table_name='file')
