"""the sort `taken` (issue 22): file.taken_at, the date taken copied from the file's image (EXIF, else the upload
time) or the upload time of a file with no image, so a list of files sorted by it walks one index per scope

On PostgreSQL the column is NOT NULL once backfilled. On SQLite it stays nullable in the schema: SQLite cannot add a
NOT NULL column without a constant default, and the table rebuild that would change it drops the FTS5 tables and
tally triggers of 0015; the model (app.domain.files.File) always writes it.

Revision ID: 0020_file_taken_at
Revises: 0019_tally_per_statement
Create Date: 2026-12-05 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020_file_taken_at'
down_revision = '0019_tally_per_statement'
branch_labels = None
depends_on = None

BACKFILL = ("UPDATE file SET taken_at = COALESCE("
            "(SELECT image.taken_at FROM image WHERE image.file_id = file.id), file.created_at)")


def upgrade():
    op.add_column('file', sa.Column('taken_at', sa.DateTime(), nullable=True))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('file', 'taken_at', existing_type=sa.DateTime(), nullable=False)
    op.create_index('ix_file_workspace_id_taken_at_id', 'file', ['workspace_id', 'taken_at', 'id'])
    op.create_index('ix_file_project_id_taken_at_id', 'file', ['project_id', 'taken_at', 'id'])


def downgrade():
    op.drop_index('ix_file_project_id_taken_at_id', table_name='file')
    op.drop_index('ix_file_workspace_id_taken_at_id', table_name='file')
    op.drop_column('file', 'taken_at')
