"""Migration 0008 recomputes every name key as sync.names.name_key (issue 12), and keeps
rows that become duplicates apart instead of failing or merging them silently."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sync.db import alembic_config, migrate
from sync.models import BiUserState, ScimGroup, ScimUser, ScimUserValue, StoredPerson

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def before_0008(engine: Engine) -> Iterator[Engine]:
    command.downgrade(alembic_config(engine), "0008-1")
    yield engine
    migrate(engine)


def user(ident: str, name: str, minutes: int) -> ScimUser:
    stamp = T0 + dt.timedelta(minutes=minutes)
    return ScimUser(id=ident, user_name=name, user_name_key=name.lower(), resource={"userName": name},
                    created_at=stamp, updated_at=stamp)


def test_keys_become_canonical_and_duplicates_keep_their_old_key(before_0008: Engine) -> None:
    with Session(before_0008) as session:
        session.add_all([
            user("u-nfc", "Jos\u00e9@example.com", 1),
            user("u-nfd", "Jose\u0301@Example.com", 2),  # the same person, a second row
            user("u-wide", "\uff41\uff44\uff41@example.com", 3),
            user("u-space", " Grace@example.com ", 4),
        ])
        session.add(ScimGroup(id="g1", display_name="Stra\u00dfe", display_name_key="stra\u00dfe"))
        session.add(ScimUserValue(user_id="u-wide", attribute="emails", value="ADA@Example.com",
                                  value_key="ada@example.com"))
        # Raw SQL: the model has columns later migrations add (bi_users.ownership, 0010).
        session.execute(text("INSERT INTO bi_users (user_name_key, user_name, active, attributes, groups, "
                             "roles, updated_at) VALUES (:key, :name, true, '{}', '[]', '{}', CURRENT_TIMESTAMP)"),
                        {"key": "jose\u0301@example.com", "name": "Jose\u0301@example.com"})
        session.add(StoredPerson(employee_id="e1", email_key="x", fields={"email": " \uff21da@example.com"},
                                 content_hash="h", lifecycle="active"))
        session.commit()

    migrate(before_0008)

    with Session(before_0008) as session:
        keys = {u.id: u.user_name_key for u in session.scalars(select(ScimUser))}
        assert keys == {"u-nfc": "jos\u00e9@example.com", "u-nfd": "jose\u0301@example.com",
                        "u-wide": "ada@example.com", "u-space": "grace@example.com"}
        assert session.scalars(select(ScimGroup.display_name_key)).one() == "strasse"
        assert session.scalars(select(ScimUserValue.value_key)).one() == "ada@example.com"
        assert session.scalars(select(BiUserState.user_name_key)).one() == "jos\u00e9@example.com"
        assert session.scalars(select(StoredPerson.email_key)).one() == "ada@example.com"


def test_downgrade_restores_lower_cased_keys(before_0008: Engine) -> None:
    migrate(before_0008)
    with Session(before_0008) as session:
        session.add(user("u1", "Stra\u00dfe@example.com", 1))
        session.commit()
    command.downgrade(alembic_config(before_0008), "0008-1")
    with before_0008.connect() as conn:
        assert conn.execute(text("SELECT user_name_key FROM scim_users")).scalar_one() == "stra\u00dfe@example.com"
