"""one-time upload URLs

Revision ID: 0003_frontend_upload_urls
Revises: 0002_images
Create Date: 2026-11-30 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_frontend_upload_urls'
down_revision = '0002_images'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upload_url',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('max_bytes', sa.BigInteger(), nullable=False),
    sa.Column('alt_text', sa.Text(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('file_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['file.id'], name=op.f('fk_upload_url_file_id_file'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_upload_url_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_upload_url_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_url'))
    )
    with op.batch_alter_table('upload_url', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_url_workspace_id'), ['workspace_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_url_file_id'), ['file_id'], unique=False)


def downgrade():
    with op.batch_alter_table('upload_url', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_url_file_id'))
        batch_op.drop_index(batch_op.f('ix_upload_url_workspace_id'))
    op.drop_table('upload_url')
