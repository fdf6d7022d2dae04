"""Bearer tokens for the SCIM endpoint and the admin API.

A token is ``hr2bi_<prefix>_<secret>``, 256 bits of randomness in all. Only its SHA-256 is
stored (a fast hash is right here: the secret is random, not a password, so there is
nothing to brute-force), it is shown once at creation, and the check compares digests in
constant time. ``prefix`` lets an operator tell tokens apart without the secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import Session, select

from sync.errors import UserError
from sync.models import ApiToken, utcnow

# scim: an identity provider's pushes. viewer, approver, admin: the admin API (and, for
# admin, the console's token sign-in), each with the console role of the same name.
SCOPES = ("scim", "viewer", "approver", "admin")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


class TokenError(UserError):
    """A token command cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scope: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenInfo:
        return cls(row.name, row.scope, row.prefix, row.created_at, row.revoked_at,
                   row.last_used_at)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, scope: str = "scim") -> str:
    """Store a new token and return its secret (the only time it exists in clear)."""
    if not NAME_PATTERN.match(name):
        raise TokenError(
            f"invalid token name {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if scope not in SCOPES:
        raise TokenError(f"unknown scope {scope!r}: choose one of {', '.join(SCOPES)}")
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenError(
            f"a token named {name!r} already exists (revoked or not): pick another name, "
            "for example with a date suffix when rotating"
        )
    prefix = secrets.token_hex(4)
    secret = f"hr2bi_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(name=name, scope=scope, token_hash=digest(secret), prefix=prefix))
    session.flush()
    return secret


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.exec(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)).all()
    return [TokenInfo.of(row) for row in rows]


def revoke_token(session: Session, name: str) -> TokenInfo:
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise TokenError(f"no token named {name!r}: see `hr2bi tokens list`")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return TokenInfo.of(row)


def authenticate(session: Session, secret: str, scope: str | Collection[str]) -> TokenInfo | None:
    """The live token with this secret and scope (or one of these scopes), or None. Never
    raises on bad input."""
    scopes = (scope,) if isinstance(scope, str) else tuple(scope)
    if not secret or len(secret) > 200:
        return None
    wanted = digest(secret)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == wanted)).first()
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    if row.revoked_at is not None or row.scope not in scopes:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive datetimes
        last = last.replace(tzinfo=dt.timezone.utc)
    if last is None or now - last > LAST_USED_GRANULARITY:
        row.last_used_at = now
        session.add(row)
    return TokenInfo.of(row)
