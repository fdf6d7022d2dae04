"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from sync.db import alembic_config, migrate
from sync.models import utcnow


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)


def test_0007_drops_dangling_members_and_keys_the_rest(engine: Engine) -> None:
    """Issue 12: rows naming a deleted user or group are removed, the others get their
    member's foreign key, and deleting the member then cascades to its rows."""
    config = alembic_config(engine)
    command.downgrade(config, "0006")
    try:
        with engine.begin() as conn:
            for table in ("scim_users", "scim_groups"):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text(
                "INSERT INTO scim_users (id, user_name, user_name_key, active, resource, version, "
                "created_at, updated_at) VALUES ('u1', 'ada', 'ada', true, '{}', 1, :now, :now)"),
                {"now": utcnow()})
            for group in ("g1", "g2"):
                conn.execute(text(
                    "INSERT INTO scim_groups (id, display_name, display_name_key, resource, version, "
                    "created_at, updated_at) VALUES (:id, :id, :id, '{}', 1, :now, :now)"),
                    {"id": group, "now": utcnow()})
            conn.execute(text(
                "INSERT INTO scim_group_members (group_id, member_id, member_type) VALUES "
                "('g1', 'u1', 'User'), ('g1', 'gone-user', 'User'), ('g1', 'g2', 'Group'), "
                "('g1', 'gone-group', 'Group'), ('g2', 'u1', 'Group')"))
    finally:
        command.upgrade(config, "head")
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT group_id, member_id, member_user_id, member_group_id FROM scim_group_members "
            "ORDER BY group_id, member_id")).all()
        assert [tuple(r) for r in rows] == [("g1", "g2", None, "g2"), ("g1", "u1", "u1", None)]
        conn.execute(text("DELETE FROM scim_users WHERE id = 'u1'"))
        conn.execute(text("DELETE FROM scim_groups WHERE id = 'g2'"))
        assert conn.scalar(text("SELECT count(*) FROM scim_group_members")) == 0
