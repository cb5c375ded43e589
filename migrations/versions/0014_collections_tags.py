"""collections of a project and tags of a workspace, each keeping its count (issue 22: Organise)

Revision ID: 0014_collections_tags
Revises: 0012_image_crops
Create Date: 2026-12-05 03:40:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0014_collections_tags'
down_revision = '0013_resumable_upload'
branch_labels = None
depends_on = None

# Byte order on PostgreSQL, so a tag prefix is one range of the (workspace_id, key) index in any collation.
KEY = sa.String(256).with_variant(sa.String(256, collation='C'), 'postgresql')


def upgrade():
    op.create_table(
        'collection',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('workspace_id', sa.String(32), sa.ForeignKey('workspace.id', ondelete='CASCADE'), nullable=False),
        sa.Column('project_id', sa.String(32), sa.ForeignKey('project.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('name_key', sa.String(400), nullable=False),
        sa.Column('image_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('project_id', 'name_key', name='uq_collection_project_id_name_key'),
    )
    op.create_index('ix_collection_workspace_id_id', 'collection', ['workspace_id', 'id'])
    op.create_table(
        'collection_image',
        sa.Column('collection_id', sa.String(32), sa.ForeignKey('collection.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('file_id', sa.String(32), sa.ForeignKey('file.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('added_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_collection_image_file_id', 'collection_image', ['file_id'])
    op.create_table(
        'tag',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('workspace_id', sa.String(32), sa.ForeignKey('workspace.id', ondelete='CASCADE'), nullable=False),
        sa.Column('key', KEY, nullable=False),
        sa.Column('name', sa.String(256), nullable=False),
        sa.Column('use_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('workspace_id', 'key', name='uq_tag_workspace_id_key'),
    )
    op.create_table(
        'image_tag',
        sa.Column('tag_id', sa.String(32), sa.ForeignKey('tag.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('file_id', sa.String(32), sa.ForeignKey('file.id', ondelete='CASCADE'), primary_key=True),
    )
    op.create_index('ix_image_tag_file_id', 'image_tag', ['file_id'])


def downgrade():
    op.drop_index('ix_image_tag_file_id', table_name='image_tag')
    op.drop_table('image_tag')
    op.drop_table('tag')
    op.drop_index('ix_collection_image_file_id', table_name='collection_image')
    op.drop_table('collection_image')
    op.drop_index('ix_collection_workspace_id_id', table_name='collection')
    op.drop_table('collection')
