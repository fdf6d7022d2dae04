"""Identity providers' lookups are answered from an index, never a scan of every user."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from scim.filters import parse_filter
from scim.query import user_translator
from sync.models import ScimUser


def plan(engine: Engine, filter_text: str) -> str:
    stmt = select(ScimUser.id).where(user_translator().where(parse_filter(filter_text)))
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # On a near-empty table the planner rightly prefers a scan; forbid it to prove
            # the index can serve the query at all.
            conn.execute(text("SET enable_seqscan = off"))
            rows = conn.execute(text(f"EXPLAIN {compiled}")).all()
        else:
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


def test_username_lookup_uses_its_unique_index(engine: Engine) -> None:
    shown = plan(engine, 'userName eq "Someone@Example.com"')
    assert "user_name_key" in shown or "scim_users_user_name_key" in shown, shown
    assert "SCAN scim_users" not in shown and "Seq Scan" not in shown, shown


def test_external_id_and_email_lookups_use_indexes(engine: Engine) -> None:
    for filter_text in ('externalId eq "00u1"', 'emails.value eq "a@b.c"'):
        shown = plan(engine, filter_text)
        assert "INDEX" in shown.upper(), shown
        for table in ("scim_users", "scim_user_values"):
            assert f"SCAN {table}" not in shown and f"Seq Scan on {table}" not in shown, shown
