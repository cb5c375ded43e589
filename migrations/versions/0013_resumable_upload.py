"""resumable uploads (tus): one row per unfinished upload, its offset and where its bytes wait (a spool, or the
parts of a multipart object)

Revision ID: 0013_resumable_upload
Revises: 0012_image_crops
Create Date: 2026-12-05 01:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_resumable_upload'
down_revision = '0012_image_crops'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('resumable_upload',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('creator', sa.String(length=64), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('upload_offset', sa.BigInteger(), nullable=False),
    sa.Column('upload_metadata', sa.JSON(), nullable=False),
    sa.Column('storage', sa.String(length=16), nullable=False),
    sa.Column('spool_name', sa.String(length=64), nullable=False),
    sa.Column('parts_file_id', sa.String(length=32), nullable=True),
    sa.Column('multipart_id', sa.String(length=1024), nullable=True),
    sa.Column('part_etags', sa.JSON(), nullable=False),
    sa.Column('parts_bytes', sa.BigInteger(), nullable=False),
    sa.Column('file_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_resumable_upload_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_resumable_upload_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resumable_upload'))
    )
    op.create_index('ix_resumable_upload_expires_at', 'resumable_upload', ['expires_at'])
    op.create_index(op.f('ix_resumable_upload_workspace_id'), 'resumable_upload', ['workspace_id'])


def downgrade():
    op.drop_index(op.f('ix_resumable_upload_workspace_id'), table_name='resumable_upload')
    op.drop_index('ix_resumable_upload_expires_at', table_name='resumable_upload')
    op.drop_table('resumable_upload')
