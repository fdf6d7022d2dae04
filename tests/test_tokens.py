"""Bearer tokens: stored hashed, shown once, scoped, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sync.models import ApiToken
from sync.tokens import TokenError, authenticate, create_token, digest, list_tokens, revoke_token


def test_only_the_hash_is_stored(engine: Engine) -> None:
    with Session(engine) as session:
        secret = create_token(session, "okta", "scim")
        session.commit()
        row = session.exec(select(ApiToken)).one()
    assert secret.startswith(f"hr2bi_{row.prefix}_") and len(secret) > 40
    assert row.token_hash == digest(secret) and secret not in row.token_hash
    assert all(secret not in str(value) for value in row.model_dump().values())


def test_authenticate_checks_secret_scope_and_revocation(engine: Engine) -> None:
    with Session(engine) as session:
        secret = create_token(session, "okta", "scim")
        assert authenticate(session, secret, "scim").name == "okta"
        assert authenticate(session, secret, "admin") is None
        assert authenticate(session, secret[:-1] + "x", "scim") is None
        assert authenticate(session, "", "scim") is None
        assert authenticate(session, "x" * 10_000, "scim") is None
        revoke_token(session, "okta")
        assert authenticate(session, secret, "scim") is None
        assert list_tokens(session)[0].revoked_at is not None


def test_last_used_is_recorded(engine: Engine) -> None:
    with Session(engine) as session:
        secret = create_token(session, "entra", "scim")
        assert list_tokens(session)[0].last_used_at is None
        authenticate(session, secret, "scim")
        session.commit()
        assert list_tokens(session)[0].last_used_at is not None


@pytest.mark.parametrize("name,scope,message", [
    ("", "scim", "invalid token name"),
    ("has space", "scim", "invalid token name"),
    ("ok", "root", "unknown scope"),
])
def test_bad_token_requests_are_refused_clearly(engine: Engine, name: str, scope: str, message: str) -> None:
    with Session(engine) as session, pytest.raises(TokenError, match=message):
        create_token(session, name, scope)


def test_names_are_unique_and_revoking_unknown_is_an_error(engine: Engine) -> None:
    with Session(engine) as session:
        create_token(session, "okta", "scim")
        with pytest.raises(TokenError, match="already exists"):
            create_token(session, "okta", "admin")
        with pytest.raises(TokenError, match="no token named"):
            revoke_token(session, "nobody")
