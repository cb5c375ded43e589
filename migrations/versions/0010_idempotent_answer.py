"""idempotency keys: the first answer to a POST /api/files with an Idempotency-Key

Revision ID: 0010_idempotent_answer
Revises: 0009_gallery_sorts_settings
Create Date: 2026-12-05 00:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_idempotent_answer'
down_revision = '0009_gallery_sorts_settings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotent_answer',
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_idempotent_answer_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'caller', 'key', name=op.f('pk_idempotent_answer'))
    )
    op.create_index(op.f('ix_idempotent_answer_created_at'), 'idempotent_answer', ['created_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_idempotent_answer_created_at'), table_name='idempotent_answer')
    op.drop_table('idempotent_answer')
