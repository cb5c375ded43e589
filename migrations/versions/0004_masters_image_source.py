"""image: what Images was sent (the original or a master) and both sizes

Revision ID: 0004_masters_image_source
Revises: 0003_frontend_upload_urls
Create Date: 2026-11-30 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_masters_image_source'
down_revision = '0003_frontend_upload_urls'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=8), nullable=False, server_default='original'))
        batch_op.add_column(sa.Column('original_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('original_height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('master_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('master_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('master_height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('master_format', sa.String(length=16), nullable=True))
    # Every image made before masters existed was sent as its original.
    op.execute("UPDATE image SET original_width = width, original_height = height")


def downgrade():
    with op.batch_alter_table('image', schema=None) as batch_op:
        for name in ('master_format', 'master_height', 'master_width', 'master_size', 'original_height',
                     'original_width', 'source'):
            batch_op.drop_column(name)
