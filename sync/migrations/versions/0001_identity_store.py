"""identity store: tokens, SCIM users and groups

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('scim_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('resource_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('resource', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scim_deletions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_deletions_resource_id'), ['resource_id'], unique=False)

    op.create_table('scim_groups',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('display_name_key', sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql'), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('resource', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('display_name_key')
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index('ix_scim_groups_created', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_groups_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_groups_updated_at'), ['updated_at'], unique=False)

    op.create_table('scim_users',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('user_name_key', sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql'), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('employee_number', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('resource', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_name_key')
    )
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.create_index('ix_scim_users_created', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_users_employee_number'), ['employee_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_users_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_users_updated_at'), ['updated_at'], unique=False)

    op.create_table('scim_group_members',
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('member_type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('display', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['scim_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'member_id')
    )
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_group_members_member_id'), ['member_id'], unique=False)

    op.create_table('scim_user_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('value_key', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('primary', sa.Boolean(), nullable=True),
    sa.Column('display', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('element', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['scim_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scim_user_values', schema=None) as batch_op:
        batch_op.create_index('ix_scim_user_values_attr_value', ['attribute', 'value_key'], unique=False)
        batch_op.create_index('ix_scim_user_values_attr_type', ['attribute', 'type', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_user_values_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scim_user_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_user_values_user_id'))
        batch_op.drop_index('ix_scim_user_values_attr_type')
        batch_op.drop_index('ix_scim_user_values_attr_value')

    op.drop_table('scim_user_values')
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_group_members_member_id'))

    op.drop_table('scim_group_members')
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_users_created')
        batch_op.drop_index(batch_op.f('ix_scim_users_updated_at'))
        batch_op.drop_index(batch_op.f('ix_scim_users_external_id'))
        batch_op.drop_index(batch_op.f('ix_scim_users_employee_number'))

    op.drop_table('scim_users')
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_groups_created')
        batch_op.drop_index(batch_op.f('ix_scim_groups_updated_at'))
        batch_op.drop_index(batch_op.f('ix_scim_groups_external_id'))

    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_deletions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_deletions_resource_id'))

    op.drop_table('scim_deletions')
    op.drop_table('api_tokens')
