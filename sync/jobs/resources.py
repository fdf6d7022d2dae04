"""What the Celery tasks work with, per process: the settings and the database engine,
hung on the Celery app (``celery.hr2bi``) so the tasks module needs no import of the app's
configuration (and the app's module can import the tasks to register them)."""

from __future__ import annotations

import threading

from celery import Celery
from sqlalchemy.engine import Engine

from sync.config import Settings, load_settings
from sync.db import make_engine


class Resources:
    """The settings and the engine the tasks use, made on first use (in the worker's child
    process, after the fork) unless given (tests, the web app, the demo)."""

    def __init__(self, settings: Settings | None = None, engine: Engine | None = None) -> None:
        self._settings, self._engine = settings, engine
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = load_settings()
            return self._settings

    @property
    def engine(self) -> Engine:
        settings = self.settings
        with self._lock:
            if self._engine is None:
                # No migration here: the web process (gunicorn --preload) or any hr2bi
                # command migrates; many worker children migrating at once would race.
                self._engine = make_engine(settings.database_url)
            return self._engine


def resources(celery: Celery) -> Resources:
    found = getattr(celery, "hr2bi", None)
    if found is None:
        found = celery.hr2bi = Resources()  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]
