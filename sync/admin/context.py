"""The app's settings and database engine, as ``sync.web.create_app`` stored them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.config import Settings
from sync.db import session_scope


def settings() -> Settings:
    return current_app.extensions["hr2bi"]["settings"]


def engine() -> Engine:
    return current_app.extensions["hr2bi"]["engine"]


@contextmanager
def session() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on an error."""
    with session_scope(engine()) as s:
        yield s
