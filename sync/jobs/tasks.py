"""Celery tasks: a few lines each — ids and primitives in, a job of :mod:`sync.jobs` called,
its result as a dict out (:func:`sync.jobs.results.as_dict`). All are ``acks_late`` and
idempotent: a task a dead worker left behind runs again and finds done work done.

A database that cannot be reached is retried with backoff (it usually comes back: a
restart, a failover) and said clearly in the worker's log meanwhile.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from sync.apply.service import apply
from sync.db import DatabaseUnavailable, check_connection
from sync.jobs.celery_app import Resources, resources
from sync.jobs.imports import import_source as import_one
from sync.jobs.nightly import run_sync
from sync.jobs.push import provision_person as provision
from sync.jobs.results import as_dict

RETRY = {"acks_late": True, "autoretry_for": (DatabaseUnavailable,), "retry_backoff": 2,
         "retry_backoff_max": 60, "retry_jitter": True, "max_retries": 30}


def _ready(task: Task) -> Resources:
    """The task's resources, once the database answers (DatabaseUnavailable otherwise)."""
    found = resources(task.app)
    check_connection(found.engine)
    return found


@shared_task(bind=True, name="hr2bi.sync", **RETRY)
def sync(self: Task) -> dict[str, Any]:
    """The nightly sync (skipped at once if another one holds the lock)."""
    found = _ready(self)
    return as_dict(run_sync(found.engine, found.settings))


@shared_task(bind=True, name="hr2bi.import_source", **RETRY)
def import_source(self: Task, source: str) -> dict[str, Any]:
    found = _ready(self)
    return as_dict(import_one(found.engine, found.settings, source))


@shared_task(bind=True, name="hr2bi.apply_run", **RETRY)
def apply_run(self: Task, run_id: int) -> dict[str, Any]:
    """Apply (or resume applying) a planned or approved run; what is done stays done."""
    found = _ready(self)
    return as_dict(apply(found.engine, found.settings, run_id))


@shared_task(bind=True, name="hr2bi.provision_person", **RETRY)
def provision_person(self: Task, scim_user_id: str) -> dict[str, Any]:
    """Queued by SCIM writes (coalesced, see sync.jobs.push); plans and applies one person,
    or comes back later while another worker is on them."""
    found = _ready(self)
    done = provision(found.engine, found.settings, scim_user_id,
                     lambda countdown: self.retry(countdown=countdown, max_retries=None))
    return {"scim_user_id": scim_user_id, **as_dict(done)}
