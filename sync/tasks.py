"""Celery tasks: a few lines each — ids and primitives in, the job from :mod:`sync.jobs` or
:mod:`sync.push` called, a JSON-able summary out. All are ``acks_late`` and idempotent:
a task a dead worker left behind runs again and finds done work done.

A database that cannot be reached is retried with backoff (it usually comes back: a
restart, a failover) and said clearly in the worker's log meanwhile.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from sync import jobs
from sync.celery_app import resources
from sync.db import DatabaseUnavailable, check_connection
from sync.push import provision

RETRY = {"acks_late": True, "autoretry_for": (DatabaseUnavailable,), "retry_backoff": 2,
         "retry_backoff_max": 60, "retry_jitter": True, "max_retries": 30}


def _ready(task: Task) -> Any:
    """The task's resources, once the database answers (DatabaseUnavailable otherwise)."""
    found = resources(task.app)
    check_connection(found.engine)
    return found


@shared_task(bind=True, name="hr2bi.sync", **RETRY)
def sync(self: Task) -> dict[str, Any]:
    """The nightly sync (skipped at once if another one holds the lock)."""
    found = _ready(self)
    return jobs.run_sync(found.engine, found.settings).as_dict()


@shared_task(bind=True, name="hr2bi.import_source", **RETRY)
def import_source(self: Task, source: str) -> dict[str, Any]:
    found = _ready(self)
    return jobs.import_source(found.engine, found.settings, source).__dict__


@shared_task(bind=True, name="hr2bi.apply_run", **RETRY)
def apply_run(self: Task, run_id: int) -> dict[str, Any]:
    found = _ready(self)
    return jobs.apply_run(found.engine, found.settings, run_id)


@shared_task(bind=True, name="hr2bi.provision_person", **RETRY)
def provision_person(self: Task, scim_user_id: str) -> dict[str, Any]:
    """Queued by SCIM writes (coalesced, see sync.push); plans and applies one person."""
    found = _ready(self)
    done = provision(found.engine, scim_user_id,
                     lambda user: jobs.provision_scim_user(found.engine, found.settings, user),
                     found.settings.sync_lock_ttl)
    if done is None:  # another worker is on this person: come back once it is done
        raise self.retry(countdown=max(found.settings.push_delay_seconds, 1.0), max_retries=None)
    return dict(done)
