"""file: (project_id, status, id) for the views by state, in place of 0009's counting index

The gallery's "Failed" view (1 file in 100, say) walked the project's id index until it had a page: 3,000 rows at a
million, cheap when cached and tens of milliseconds when not. The counts that (project_id, mime_type, status) served
come from file_tally since 0015, so that index is replaced rather than added to.

Revision ID: 0021_file_status_index
Revises: 0020_file_taken_at
Create Date: 2026-12-05 07:45:00

"""
from alembic import op


revision = '0021_file_status_index'
down_revision = '0020_file_taken_at'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_file_project_id_status_id', 'file', ['project_id', 'status', 'id'])
    op.drop_index('ix_file_project_id_mime_type_status', table_name='file')


def downgrade():
    op.create_index('ix_file_project_id_mime_type_status', 'file', ['project_id', 'mime_type', 'status'])
    op.drop_index('ix_file_project_id_status_id', table_name='file')
