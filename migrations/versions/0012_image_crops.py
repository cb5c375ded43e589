"""image crops: each image's stored rectangle per crop preset (issue 25; presets live in workspace settings)

Revision ID: 0012_image_crops
Revises: 0011_list_name_sort_lower
Create Date: 2026-12-05 01:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_image_crops'
down_revision = '0011_list_name_sort_lower'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('image', sa.Column('crops', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('image', 'crops')
