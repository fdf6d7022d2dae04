"""Group members reference their user or group with a foreign key (issue 12)

A member row named its member by id only, so a user deleted while an identity provider
added it to a group could stay listed there, and a deleted group stayed a member of
others. Each row now also holds the id in ``member_user_id`` or ``member_group_id``, whose
foreign key cascades the row away with its member; a check keeps the columns in step.
Rows that already point at nothing are deleted first: they are what the keys forbid.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

MEMBER_REFERENCE = (
    "(member_type = 'User' AND member_user_id = member_id AND member_group_id IS NULL) OR "
    "(member_type = 'Group' AND member_group_id = member_id AND member_user_id IS NULL)"
)


def upgrade() -> None:
    op.execute("DELETE FROM scim_group_members WHERE NOT ("
               "(member_type = 'User' AND member_id IN (SELECT id FROM scim_users)) OR "
               "(member_type = 'Group' AND member_id IN (SELECT id FROM scim_groups)))")
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_user_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('member_group_id', sa.String(length=36), nullable=True))
    op.execute("UPDATE scim_group_members SET member_user_id = member_id WHERE member_type = 'User'")
    op.execute("UPDATE scim_group_members SET member_group_id = member_id WHERE member_type = 'Group'")
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_scim_group_members_member_user_id', 'scim_users',
                                    ['member_user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key('fk_scim_group_members_member_group_id', 'scim_groups',
                                    ['member_group_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('ck_scim_group_members_member_reference', MEMBER_REFERENCE)
        batch_op.create_index(batch_op.f('ix_scim_group_members_member_user_id'), ['member_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_group_members_member_group_id'), ['member_group_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_group_members_member_group_id'))
        batch_op.drop_index(batch_op.f('ix_scim_group_members_member_user_id'))
        batch_op.drop_constraint('ck_scim_group_members_member_reference', type_='check')
        batch_op.drop_constraint('fk_scim_group_members_member_group_id', type_='foreignkey')
        batch_op.drop_constraint('fk_scim_group_members_member_user_id', type_='foreignkey')
        batch_op.drop_column('member_group_id')
        batch_op.drop_column('member_user_id')
