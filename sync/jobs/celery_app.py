"""The Celery app, configured from :class:`~sync.config.Settings`.

``celery -A sync.jobs.celery_app worker`` and ``celery -A sync.jobs.celery_app beat`` use the
module's ``app``, whose configuration is read from the environment (and ``hr2bi.toml``) only
when Celery first needs it, so importing this module connects to nothing. Tests, the web
app and the demo build their own with :func:`create_celery`.

Without ``BROKER_URL`` (the embedded default) tasks run in the calling process
(``task_always_eager``): no broker server, nothing to start, and ``hr2bi sync`` or a cron
line is the schedule. We chose eager over kombu's SQLAlchemy transport because the latter
needs a worker process anyway (something must consume the table) and adds tables outside
our migrations; anyone who wants a worker without Redis can still set
``BROKER_URL=sqla+sqlite:///hr2bi-broker.db``, which kombu supports as is.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from sqlalchemy.engine import Engine

from sync.config import ConfigError, Settings, load_settings
from sync.db import make_engine
from sync.errors import or_exit

QUEUE = "hr2bi"
SYNC_TASK = "hr2bi.sync"


def schedule(settings: Settings) -> crontab:
    """``sync_schedule`` (a cron line) as celery's crontab; a bad field is a ConfigError."""
    minute, hour, day_of_month, month, day_of_week = settings.sync_schedule.split()
    try:
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                       month_of_year=month, day_of_week=day_of_week)
    except ValueError as exc:
        raise ConfigError(f"sync_schedule {settings.sync_schedule!r} is not a cron line: {exc}") from exc


def celery_config(settings: Settings) -> dict[str, Any]:
    embedded = settings.broker_url is None
    return {
        "broker_url": settings.broker_url or "memory://",
        "task_always_eager": embedded,
        "task_eager_propagates": True,
        # A task is acknowledged when it finished, so a worker that dies mid-task leaves it
        # on the broker for another; the tasks are idempotent, so a second run is harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE,
        "task_ignore_result": True,  # what a task did is in the database (runs, outbox)
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        # A web request that queues a push must not hang on a dead broker (see sync.jobs.push).
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0,
                                      "interval_step": 0.2, "interval_max": 0.5},
        "broker_transport_options": {"visibility_timeout": settings.broker_visibility_timeout},
        "timezone": settings.sync_timezone,
        "beat_schedule": {"nightly-sync": {"task": SYNC_TASK, "schedule": schedule(settings)}},
        "worker_hijack_root_logger": False,
    }


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


def create_celery(settings: Settings | None = None, engine: Engine | None = None) -> Celery:
    """A Celery app for these settings, with the hr2bi tasks registered on it."""
    settings = settings or load_settings()
    celery = Celery("hr2bi", set_as_current=False)
    celery.conf.update(celery_config(settings))
    celery.hr2bi = Resources(settings, engine)  # type: ignore[attr-defined]
    import sync.jobs.tasks  # noqa: F401  (shared tasks attach to every app)

    celery.finalize(auto=True)
    return celery


def resources(celery: Celery) -> Resources:
    found = getattr(celery, "hr2bi", None)
    if found is None:
        found = celery.hr2bi = Resources()  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]


def require_broker(**_: Any) -> None:
    """A worker or beat without a broker would consume or fill a queue nobody shares."""
    if or_exit("celery", load_settings).broker_url is None:
        raise SystemExit("BROKER_URL is not set: a worker and beat need Redis (redis://...) or "
                         "RabbitMQ (amqp://...); without one, run `hr2bi sync` from cron instead")


# The worker's and beat's app (``celery -A sync.jobs.celery_app ...``): configured lazily.
app = Celery("hr2bi", include=["sync.jobs.tasks"])
app.add_defaults(lambda: or_exit("celery", lambda: celery_config(load_settings())))
signals.celeryd_init.connect(require_broker)
signals.beat_init.connect(require_broker)
