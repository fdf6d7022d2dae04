"""Shared fixtures: a real database (SQLite, or PostgreSQL when DATABASE_URL is set),
migrated once per session and emptied before every test; never a mocked one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import sync.models  # noqa: F401
from sync.config import Settings, load_settings
from sync.db import make_engine, migrate, session_scope
from sync.tokens import create_token
from sync.web import create_app


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return load_settings(database_url=url).database_url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hr2bi-test.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The audit tables refuse TRUNCATE (migration 0009); a superuser's replica role
            # skips their triggers for this transaction only.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    empty_tables(migrated_engine)
    return migrated_engine


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, migrate_on_start=False)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Flask:
    return create_app(settings, engine)


@pytest.fixture
def scim_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        return create_token(session, "okta-test", "scim")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(scim_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {scim_token}"}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
