"""people search and history: expression indexes for the admin console (issue 16)

The console's people search finds a given or family name (HR's, or the identity
provider's name and displayName) by prefix of its lower-cased value, and a person's page lists the audit events whose target ``id`` or ``userName`` is
theirs; at 100,000 people both must be index lookups (sync/admin/people.py builds the
same expressions). SQLite and PostgreSQL spell a JSON field differently, hence two sets.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

INDEXES = {
    # name: (table, SQLite expression, PostgreSQL expression)
    "ix_people_given_name_lower": ("people", "lower(json_extract(fields, '$.given_name'))",
                                   "lower(fields ->> 'given_name')"),
    "ix_people_family_name_lower": ("people", "lower(json_extract(fields, '$.family_name'))",
                                    "lower(fields ->> 'family_name')"),
    "ix_scim_users_given_name_lower": ("scim_users", "lower(json_extract(resource, '$.name.givenName'))",
                                       "lower(resource -> 'name' ->> 'givenName')"),
    "ix_scim_users_family_name_lower": ("scim_users", "lower(json_extract(resource, '$.name.familyName'))",
                                        "lower(resource -> 'name' ->> 'familyName')"),
    "ix_scim_users_display_name_lower": ("scim_users", "lower(display_name)", "lower(display_name)"),
    "ix_audit_events_target_id": ("audit_events", "json_extract(target, '$.id')", "(target ->> 'id')"),
    "ix_audit_events_target_user_name": ("audit_events", "json_extract(target, '$.userName')",
                                         "(target ->> 'userName')"),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, (table, sqlite, pg) in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (({pg if postgresql else sqlite}))")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
