"""the trash: a deleted file keeps its row and bytes with deleted_at / purge_after until it is purged

Revision ID: 0008_trash_file_deleted_at
Revises: 0007_webhooks_endpoints
Create Date: 2026-11-30 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_trash_file_deleted_at'
down_revision = '0007_webhooks_endpoints'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('purge_after', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('kept_image', sa.JSON(), nullable=True))
        batch_op.create_index('ix_file_purge_after', ['purge_after'], unique=False)


def downgrade():
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.drop_index('ix_file_purge_after')
        batch_op.drop_column('kept_image')
        batch_op.drop_column('purge_after')
        batch_op.drop_column('deleted_at')
