"""sync.db: which database failures a retried transaction can cure (issue 12)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from sync.db import is_transient, make_engine


def test_sqlite_busy_past_the_timeout_is_transient(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    with engine.connect() as holder, engine.connect() as other:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        other.connection.dbapi_connection.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(DBAPIError) as caught:
            other.exec_driver_sql("BEGIN IMMEDIATE")
        holder.rollback()
    assert is_transient(caught.value)
    engine.dispose()


def test_a_constraint_violation_is_not_transient(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(IntegrityError) as caught:
        conn.execute(text("INSERT INTO scim_group_members (group_id, member_id, member_type) "
                          "VALUES ('no-group', 'no-user', 'User')"))
    assert not is_transient(caught.value)


def test_a_postgresql_deadlock_victim_is_transient(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
        conn.execute(text("CREATE TABLE deadlock_probe (id int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO deadlock_probe VALUES (1), (2)"))
    errors: list[DBAPIError] = []
    barrier = threading.Barrier(2)

    def lock(first: int, second: int) -> None:
        with engine.connect() as conn:
            try:
                conn.execute(text("SELECT id FROM deadlock_probe WHERE id = :i FOR UPDATE"), {"i": first})
                barrier.wait(timeout=10)
                conn.execute(text("SELECT id FROM deadlock_probe WHERE id = :i FOR UPDATE"), {"i": second})
            except DBAPIError as exc:
                errors.append(exc)
            conn.rollback()

    threads = [threading.Thread(target=lock, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE deadlock_probe"))
    assert len(errors) == 1 and is_transient(errors[0])
