"""audit log: refuse TRUNCATE, and keep checkpoints append-only too

Revision ID: 0009
Revises: 0008

Row triggers never fire on TRUNCATE, so the UPDATE/DELETE guard of 0003 let
``TRUNCATE audit_events`` empty the log, after which the server signed a fresh one that
verified (issue 12). A statement-level BEFORE TRUNCATE trigger refuses it. The stored
checkpoints are what a new checkpoint is proven consistent with, so they get the same
guard, and the append-only one of 0003. PostgreSQL only: SQLite has no TRUNCATE and its
file is the operator's to protect. The test suite (a superuser) empties the tables with
``session_replication_role = replica``, under which these triggers do not fire.
"""

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

GUARD = """
CREATE FUNCTION hr2bi_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION hr2bi_audit_guard();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION hr2bi_audit_guard();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION hr2bi_audit_guard();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints")
        op.execute("DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints")
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP FUNCTION hr2bi_audit_guard()")
