"""Tokens in the console and the admin API (admins only): list, create, revoke.

``sync.tokens`` does the work, as for ``hr2bi tokens``; each change is a ``token.create``
or ``token.revoke`` event (``sync.audit.record.record_token_change``) naming the signed-in
person, in the transaction of the change. A secret exists in clear once, in the answer
to its creation; the list never carries one.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from sync.admin.provisioning import utc_iso
from sync.audit.record import record_token_change
from sync.tokens import (
    SCOPES,
    TokenError,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = ["SCOPES", "TokenError", "TokenTaken", "UnknownToken", "create", "revoke", "tokens"]


class UnknownToken(TokenError):
    """No token has that name."""


class TokenTaken(TokenError):
    """A token (live or revoked) already has that name."""


def token_json(token: TokenInfo) -> dict[str, Any]:
    return {"name": token.name, "scope": token.scope, "prefix": token.prefix,
            "created_at": utc_iso(token.created_at), "last_used_at": utc_iso(token.last_used_at),
            "revoked_at": utc_iso(token.revoked_at),
            "status": "revoked" if token.revoked_at else "active"}


def tokens(session: Session) -> list[dict[str, Any]]:
    """Every token, oldest first, never a secret."""
    return [token_json(t) for t in list_tokens(session)]


def create(session: Session, name: str, scope: str, actor: str) -> dict[str, Any]:
    """A new token and, this once, its secret; TokenTaken when the name is in use,
    TokenError when the name or scope is bad."""
    if any(t.name == name.strip() for t in list_tokens(session)):
        raise TokenTaken(f"a token named {name.strip()!r} already exists (revoked or not): pick "
                         "another name, for example with a date suffix when rotating")
    secret = create_token(session, name.strip(), scope)
    record_token_change(session, "create", name.strip(), scope, by=actor, source="console")
    (made,) = [t for t in list_tokens(session) if t.name == name.strip()]
    return {**token_json(made), "secret": secret}


def revoke(session: Session, name: str, actor: str) -> dict[str, Any]:
    """Revoke a token (again is harmless); UnknownToken when there is none of that name."""
    if not any(t.name == name for t in list_tokens(session)):
        raise UnknownToken(f"no token named {name[:100]!r}")
    token = revoke_token(session, name)
    record_token_change(session, "revoke", name, token.scope, by=actor, source="console")
    return token_json(token)

