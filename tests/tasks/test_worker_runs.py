"""A real Celery worker (and beats) on PostgreSQL with Redis, and once with RabbitMQ: the
nightly sync, an identity provider's push reaching the BI, one sync at a time.

Each test starts its own processes (sandbox BI, workers, beats) and stops them by pid.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sync.jobs.celery_app import create_celery
from sync.config import Settings
from sync.models import Run
from sync.web import create_app
from tasks_harness import (
    PEOPLE_PROVISIONED,
    Stack,
    require_postgresql,
    require_rabbitmq,
    require_redis,
    stack,
)

pytestmark = pytest.mark.slow


def runs(engine: Engine, kind: str, status: str | None = None) -> int:
    query = select(func.count()).select_from(Run).where(Run.kind == kind)
    if status is not None:
        query = query.where(Run.status == status)
    with engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def queue_sync(settings: Settings, broker_url: str, times: int = 1) -> None:
    celery = create_celery(settings.model_copy(update={"broker_url": broker_url}))
    for _ in range(times):
        celery.send_task("hr2bi.sync", queue="hr2bi")


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def purge_rabbitmq(settings: Settings, url: str) -> None:
    """RabbitMQ keeps the hr2bi queue (durable) across tests and CI runs: a message left by
    an earlier, interrupted run would be consumed first and confuse this one."""
    create_celery(settings.model_copy(update={"broker_url": url})).control.purge()


def provisioned(processes: Stack) -> int:
    return sum(1 for u in processes.bi_users() if u.get("active", True))


def _sync_then_push(processes: Stack, engine: Engine, settings: Settings, broker_url: str,
                    auth: dict[str, str]) -> None:
    processes.sandbox()
    processes.worker()
    queue_sync(settings, broker_url)
    processes.wait(lambda: runs(engine, "plan", "succeeded") == 1, 90, "the sync's plan to be applied")
    processes.wait(lambda: provisioned(processes) == PEOPLE_PROVISIONED, 30,
                   f"{PEOPLE_PROVISIONED} active users in the BI after the applied plan")
    assert runs(engine, "import", "succeeded") == 1
    # An identity provider's push, through the web app with the same broker.
    web = create_app(settings.model_copy(update={"broker_url": broker_url, "provision_on_push": True,
                                                 "push_delay_seconds": 0.2,
                                                 "bi_base_url": processes.env["HR2BI_BI_BASE_URL"]}),
                     engine).test_client()
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "idp.only@northwind.example", "active": True,
            "name": {"givenName": "Idp", "familyName": "Only"},
            "emails": [{"value": "idp.only@northwind.example", "primary": True}]}
    assert web.post("/scim/v2/Users", json=user, headers=auth).status_code == 201

    def reached() -> bool:
        return any(u["userName"] == "idp.only@northwind.example" for u in processes.bi_users())

    processes.wait(reached, 30, "the pushed user to reach the BI")


def test_a_worker_runs_the_sync_and_provisions_a_push_redis(engine: Engine, settings: Settings,
                                                            database_url: str, auth: dict[str, str],
                                                            tmp_path: Path) -> None:
    require_postgresql(database_url)
    broker = require_redis()
    flush_redis(broker)
    with stack(tmp_path, database_url, broker) as processes:
        _sync_then_push(processes, engine, settings, broker, auth)


def test_a_worker_runs_the_sync_and_provisions_a_push_rabbitmq(engine: Engine, settings: Settings,
                                                               database_url: str, auth: dict[str, str],
                                                               tmp_path: Path) -> None:
    require_postgresql(database_url)
    broker = require_rabbitmq()
    purge_rabbitmq(settings, broker)
    with stack(tmp_path, database_url, broker) as processes:
        _sync_then_push(processes, engine, settings, broker, auth)


def test_two_syncs_queued_at_once_run_one(engine: Engine, settings: Settings, database_url: str,
                                          tmp_path: Path) -> None:
    require_postgresql(database_url)
    broker = require_redis()
    flush_redis(broker)
    with stack(tmp_path, database_url, broker) as processes:
        processes.sandbox()
        first, second = processes.worker("worker-a", 1), processes.worker("worker-b", 1)
        queue_sync(settings, broker, times=2)
        processes.wait(lambda: "another sync is running" in first.output() + second.output(), 60,
                       "one of the two syncs to be skipped")
        processes.wait(lambda: runs(engine, "plan", "succeeded") == 1, 90, "the one sync")
        assert runs(engine, "plan") == 1 and runs(engine, "import") == 1
        names = collections.Counter(u["userName"].lower() for u in processes.bi_users())
        assert len(names) == PEOPLE_PROVISIONED and max(names.values()) == 1


def test_two_beats_queue_one_sync_each_and_one_runs(engine: Engine, settings: Settings,
                                                    database_url: str, tmp_path: Path) -> None:
    """Two beats by mistake (the Procfile says one): both queue the sync each minute, the
    lock lets one run. Waits for the next minute boundary (under a minute)."""
    require_postgresql(database_url)
    broker = require_redis()
    flush_redis(broker)
    every_minute: dict[str, Any] = {"HR2BI_SYNC_SCHEDULE": "* * * * *"}
    with stack(tmp_path, database_url, broker) as processes:
        processes.sandbox()
        processes.worker("worker", 2)
        beats = [processes.beat("beat-a", **every_minute), processes.beat("beat-b", **every_minute)]
        sent = lambda: all("Sending due task nightly-sync" in b.output() for b in beats)  # noqa: E731
        processes.wait(sent, 75, "both beats to queue the sync")
        for beat in beats:
            beat.stop()
        processes.wait(lambda: runs(engine, "plan", "succeeded") >= 1, 90, "the sync")
        processes.wait(lambda: "another sync is running" in processes.processes[1].output(), 30,
                 "the second beat's sync to be skipped")
        assert runs(engine, "plan") == 1
        assert provisioned(processes) == PEOPLE_PROVISIONED
