"""duplicates: the file's SHA-256 indexed per workspace (hash first), each image's perceptual hash split in four
16-bit bands with an index each (near duplicates without a scan), and the resumable backfill's progress row (issue 23)

Revision ID: 0017_perceptual_hash
Revises: 0015_image_facts
Create Date: 2026-12-05 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017_perceptual_hash'
down_revision = '0016_file_versions'
branch_labels = None
depends_on = None

BANDS = ('phash_band0', 'phash_band1', 'phash_band2', 'phash_band3')


def upgrade():
    op.create_index('ix_file_workspace_id_sha256', 'file', ['workspace_id', 'sha256'])
    with op.batch_alter_table('image') as batch:
        batch.add_column(sa.Column('phash', sa.BigInteger(), nullable=True))
        for band in BANDS:
            batch.add_column(sa.Column(band, sa.Integer(), nullable=True))
    for band in BANDS:
        # Covering (hash and id), so the lookup is index-only.
        op.create_index(f'ix_image_workspace_id_{band}', 'image', ['workspace_id', band, 'phash', 'file_id'])
    op.create_table(
        'phash_backfill',
        sa.Column('id', sa.String(length=32), primary_key=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('after_file_id', sa.String(length=32), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table('phash_backfill')
    for band in BANDS:
        op.drop_index(f'ix_image_workspace_id_{band}', table_name='image')
    # Plain DROP COLUMNs (SQLite 3.35+), not a batch copy of the table, which would lose 0015's triggers on image.
    for band in reversed(BANDS):
        op.drop_column('image', band)
    op.drop_column('image', 'phash')
    op.drop_index('ix_file_workspace_id_sha256', table_name='file')
