"""gallery: indexes for the gallery's sorts, workspace setting changes (the focal point came with 0006)

Revision ID: 0009_gallery_sorts_settings
Revises: 0008_trash_file_deleted_at
Create Date: 2026-11-30 12:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_gallery_sorts_settings'
down_revision = '0008_trash_file_deleted_at'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_file_project_id_id', 'file', ['project_id', 'id'])
    op.create_index('ix_file_project_id_size_id', 'file', ['project_id', 'size', 'id'])
    op.create_index('ix_file_project_id_lower_name_id', 'file', ['project_id', sa.text('lower(name)'), 'id'])
    op.create_index('ix_file_project_id_mime_type_status', 'file', ['project_id', 'mime_type', 'status'])
    op.create_table('workspace_setting_change',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.String(length=64), nullable=True),
    sa.Column('new_value', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_workspace_setting_change_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace_setting_change'))
    )
    op.create_index('ix_workspace_setting_change_workspace_id_changed_at', 'workspace_setting_change',
                    ['workspace_id', 'changed_at'])


def downgrade():
    op.drop_index('ix_workspace_setting_change_workspace_id_changed_at', table_name='workspace_setting_change')
    op.drop_table('workspace_setting_change')
    op.drop_index('ix_file_project_id_mime_type_status', table_name='file')
    op.drop_index('ix_file_project_id_lower_name_id', table_name='file')
    op.drop_index('ix_file_project_id_size_id', table_name='file')
    op.drop_index('ix_file_project_id_id', table_name='file')
