"""Column types and helpers every table uses, and the service's own tables: API tokens and locks."""


from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# Lookup keys (sync.names.name_key) compare bytewise on every database (SQLite's default), so a
# prefix filter (userName sw "ad") is an index range whatever the server's locale.
KeyType = String(512).with_variant(String(512, collation="C"), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


class ApiToken(SQLModel, table=True):
    """A bearer token. Only the SHA-256 of the secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    scope: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: dt.datetime = _ts()
    revoked_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Lock(SQLModel, table=True):
    """A named lock held in the database, so one sync runs at a time whatever the number of
    workers or machines. ``expires_at`` lets a crashed holder's lock be taken over."""

    __tablename__ = "locks"

    name: str = Field(max_length=100, primary_key=True)
    holder: str = Field(max_length=200)
    acquired_at: dt.datetime = _ts()
    expires_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


# --- BI state and the outbox (issue 6) --------------------------------------------------
