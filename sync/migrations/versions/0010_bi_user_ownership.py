"""bi_users.ownership: which BI accounts hr2bi created or adopted

Revision ID: 0010
Revises: 0009

Plans and reconcile change only accounts hr2bi owns (issue 14): ``created`` by its apply,
or ``adopted`` (matched to a person or SCIM user). Existing rows some plan gave to a
person or SCIM user (account_owners) are adopted; the others (read from the BI platform
by a reconcile: admins, service accounts, users made by hand) are not owned.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bi_users') as batch:
        batch.add_column(sa.Column('ownership', sa.String(length=16), nullable=True))
    op.execute("UPDATE bi_users SET ownership = 'adopted' "
               "WHERE user_name_key IN (SELECT user_name_key FROM account_owners)")


def downgrade() -> None:
    with op.batch_alter_table('bi_users') as batch:
        batch.drop_column('ownership')
