"""BI state (last-applied users and groups) and the outbox of changes

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bi_groups',
    sa.Column('name_key', sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('bi_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tables_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name_key')
    )
    op.create_table('bi_users',
    sa.Column('user_name_key', sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql'), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('bi_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tables_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_name_key')
    )
    op.create_table('bi_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('bi_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_bi_outbox_claim', ['run_id', 'status', 'phase', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bi_outbox_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bi_outbox_name'), ['name'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bi_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bi_outbox_name'))
        batch_op.drop_index(batch_op.f('ix_bi_outbox_status'))
        batch_op.drop_index('ix_bi_outbox_claim')

    op.drop_table('bi_outbox')
    op.drop_table('bi_users')
    op.drop_table('bi_groups')
