"""Engine, sessions and migrations. Nothing connects at import time.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout so the web
server and a CLI command can share the file; PostgreSQL is used as it comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from sync.config import Settings
from sync.errors import UserError

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUnavailable(UserError):
    """The database cannot be reached or used; the message says where and what to do."""


def make_engine(database_url: str) -> Engine:
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"DATABASE_URL is not a database URL: {exc}") from exc
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def lock_for_write(session: Session) -> None:
    """Make the rest of ``session``'s transaction see the newest committed rows and keep
    others from writing them until it commits, for a read-modify-write.

    PostgreSQL: the caller reads with ``FOR UPDATE`` (row locks). SQLite has no row locks
    and the driver only opens a transaction at the first write, so a row read before that
    can be overwritten by another writer's commit (a lost update): take the database's
    write lock now (``BEGIN IMMEDIATE``, waiting up to the busy timeout) unless this
    transaction already holds it."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# PostgreSQL's serialization_failure and deadlock_detected: the server gave this transaction
# up so another could go on; run again, it will likely pass.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: DBAPIError) -> bool:
    """Whether running the whole transaction again can cure ``exc``: PostgreSQL picked it
    as a deadlock victim, or SQLite's write lock stayed taken past the busy timeout."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return str(getattr(orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY")


def describe(engine: Engine) -> str:
    """The database's URL with the password hidden, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {describe(engine)}: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}. "
            "Check DATABASE_URL and that the server is running."
        ) from exc


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    check_connection(engine)
    command.upgrade(alembic_config(engine), "head")


def engine_for(settings: Settings, *, migrate_now: bool | None = None) -> Engine:
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start if migrate_now is None else migrate_now:
        migrate(engine)
        # Leave no pooled connection behind: gunicorn --preload forks after this point.
        engine.dispose()
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
