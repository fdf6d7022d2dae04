"""Wiring the push into the web app: the SCIM ``on_write`` hook and where it queues, the
broker's ``provision_person`` task or, in the embedded mode, a timer thread in this process.
Apart from ``sync.jobs.push`` so the push logic never imports the Celery app (whose tasks
import the push)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery
from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.jobs.celery_app import QUEUE, create_celery
from sync.jobs.push import ProvisionQueue, PushHook, provision_person, timer_sender

log = logging.getLogger("sync.jobs.push")  # the push's own log, as before the split


def scim_write_hook(settings: Settings, engine: Engine) -> PushHook | None:
    """The SCIM ``on_write`` hook that queues pushes, or None when pushes are off
    (``provision_on_push``; by default on with a broker, off in the embedded mode)."""
    enabled = settings.provision_on_push
    if enabled is None:
        enabled = settings.broker_url is not None
    return PushHook(provision_queue(settings, engine)) if enabled else None


def provision_queue(settings: Settings, engine: Engine, celery: Celery | None = None) -> ProvisionQueue:
    """Where SCIM writes queue their pushes: the broker's ``provision_person`` task, or in
    the embedded mode a timer thread in this process (``hr2bi serve`` alone reaches the BI)."""
    if settings.broker_url is not None:
        celery = celery or create_celery(settings, engine)

        def send(name: str, args: tuple[Any, ...], countdown: float) -> None:
            celery.send_task(name, args=list(args), countdown=countdown, queue=QUEUE)

        return ProvisionQueue(engine, send, settings.push_delay_seconds)
    return ProvisionQueue(engine, timer_sender(_in_process(settings, engine)), settings.push_delay_seconds)


def _in_process(settings: Settings, engine: Engine) -> Callable[[str, tuple[Any, ...]], None]:
    def run(name: str, args: tuple[Any, ...]) -> None:
        (user,) = args
        try:
            provision_person(engine, settings, user, lambda countdown: timer_sender(run)(name, args, countdown))
        except Exception:  # the top of a thread: nobody else would see it
            log.exception("provisioning SCIM user %s failed (the nightly sync will retry)", user)

    return run
