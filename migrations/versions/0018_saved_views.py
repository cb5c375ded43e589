"""saved views: a user's (or a token's) named query of a project and its layout (issue 22)

Revision ID: 0018_saved_views
Revises: 0016_file_versions
Create Date: 2026-12-05 03:40:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0018_saved_views'
down_revision = '0017_perceptual_hash'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_view',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('project_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=True),
        sa.Column('token_id', sa.String(length=32), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.Column('layout', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_saved_view_user', 'saved_view', ['workspace_id', 'user_id', 'name'])
    op.create_index('ix_saved_view_token', 'saved_view', ['workspace_id', 'token_id', 'name'])
    op.create_index(op.f('ix_saved_view_project_id'), 'saved_view', ['project_id'])


def downgrade():
    op.drop_index(op.f('ix_saved_view_project_id'), table_name='saved_view')
    op.drop_index('ix_saved_view_token', table_name='saved_view')
    op.drop_index('ix_saved_view_user', table_name='saved_view')
    op.drop_table('saved_view')
