"""file versions: an image's bytes replaced under the same file id, each version its own images-service copy
(issue 23); the image row says which version it shows

Revision ID: 0016_file_versions
Revises: 0015_image_facts
Create Date: 2026-12-05 03:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016_file_versions'
down_revision = '0015_image_facts'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('image', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'file_version',
        sa.Column('file_id', sa.String(length=32), sa.ForeignKey('file.id', ondelete='CASCADE'), nullable=False),
        sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('mime_type', sa.String(length=127), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('format', sa.String(length=16), nullable=True),
        sa.Column('cf_image_id', sa.String(length=1024), nullable=True),
        sa.Column('restored_from', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('ready_at', sa.DateTime(), nullable=True),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.Column('copy_until', sa.DateTime(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('transient_failures', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('enqueued_at', sa.DateTime(), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('deadline', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('file_id', 'number'),
    )
    # Never two current versions of a file, never two replaces under way: the database itself refuses the second.
    for state in ('current', 'pending'):
        where = sa.text(f"state = '{state}'")
        op.create_index(
            f'ux_file_version_{state}', 'file_version', ['file_id'], unique=True,
            sqlite_where=where, postgresql_where=where,
        )
    op.create_index('ix_file_version_state_next_attempt_at', 'file_version', ['state', 'next_attempt_at'])


def downgrade():
    op.drop_index('ix_file_version_state_next_attempt_at', table_name='file_version')
    op.drop_index('ux_file_version_pending', table_name='file_version')
    op.drop_index('ux_file_version_current', table_name='file_version')
    op.drop_table('file_version')
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table, which would lose 0015's triggers on image.
    op.drop_column('image', 'version')
