"""Account owners: which person or SCIM user each planned BI account belongs to (issue 11)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_owners',
    sa.Column('user_name_key', sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('scim_user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_name_key')
    )
    with op.batch_alter_table('account_owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_owners_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_owners_scim_user_id'), ['scim_user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account_owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_owners_scim_user_id'))
        batch_op.drop_index(batch_op.f('ix_account_owners_person_id'))
    op.drop_table('account_owners')
