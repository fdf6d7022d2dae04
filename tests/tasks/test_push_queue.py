"""SCIM writes queue provisioning after commit, coalesced per person; a dead broker never
fails the SCIM request."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scim.store import ScimWrite
from sync.config import Settings
from sync.jobs.celery_app import create_celery
from sync.jobs.push import ProvisionQueue, PushHook, marker, provision, users_touched
from sync.locks import holder_of
from sync.models import Lock
from sync.web import create_app

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com",
        "active": True}


def _write(kind: str, before: Any = None, after: Any = None, rid: str = "u1") -> ScimWrite:
    return ScimWrite(kind, "patch", rid, "x", before, after, "okta")


def _group(name: str, *members: str, kinds: str = "User") -> dict[str, Any]:
    return {"displayName": name, "members": [{"value": m, "type": kinds} for m in members]}


def test_a_user_write_touches_that_user() -> None:
    assert users_touched(_write("User", None, USER, rid="abc")) == {"abc"}


def test_a_group_write_touches_the_members_it_added_or_removed() -> None:
    write = _write("Group", _group("BI", "a", "b"), _group("BI", "b", "c"), rid="g")
    assert users_touched(write) == {"a", "c"}


def test_a_renamed_group_touches_every_member_but_not_nested_groups() -> None:
    before = {"displayName": "BI", "members": [{"value": "a", "type": "User"},
                                               {"value": "g2", "type": "Group"}]}
    write = _write("Group", before, {**before, "displayName": "BI Finance"}, rid="g")
    assert users_touched(write) == {"a"}


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], float]] = []

    def __call__(self, name: str, args: tuple[Any, ...], countdown: float) -> None:
        self.sent.append((name, args, countdown))


def test_a_burst_for_one_person_queues_one_task(engine: Engine) -> None:
    sent = Recorder()
    queue = ProvisionQueue(engine, sent, delay=1.5)
    results = [queue.push("u1") for _ in range(5)] + [queue.push("u2")]
    assert results == [True, False, False, False, False, True]
    # Both people were idle: their pushes run at once; u1's later writes wait for that task.
    assert sent.sent == [("hr2bi.provision_person", ("u1",), 0.0),
                         ("hr2bi.provision_person", ("u2",), 0.0)]


def test_a_push_that_follows_another_within_the_window_waits_and_coalesces(engine: Engine) -> None:
    sent = Recorder()
    queue = ProvisionQueue(engine, sent, delay=30)
    assert queue.push("u1")
    provision(engine, "u1", lambda user: user, lock_ttl=30)  # the first task ran at once
    assert [queue.push("u1") for _ in range(4)] == [True, False, False, False]
    assert [countdown for _, _, countdown in sent.sent] == [0.0, 30]


def test_a_person_idle_for_the_window_runs_at_once_again(engine: Engine) -> None:
    sent = Recorder()
    queue = ProvisionQueue(engine, sent, delay=0.3)
    assert queue.push("u1")
    provision(engine, "u1", lambda user: user, lock_ttl=30)
    time.sleep(0.4)
    assert queue.push("u1")
    assert [countdown for _, _, countdown in sent.sent] == [0.0, 0.0]


def test_a_task_that_started_lets_the_next_write_queue_again(engine: Engine) -> None:
    sent = Recorder()
    queue = ProvisionQueue(engine, sent, delay=0)
    queue.push("u1")
    seen: list[str | None] = []

    def work(user: str) -> dict[str, str]:
        seen.append(holder_of(engine, marker(user)))  # the marker is gone while we work
        assert queue.push(user)  # a write arriving now is not lost in the coalescing
        return {"user": user}

    assert provision(engine, "u1", work, lock_ttl=30) == {"user": "u1"}
    assert seen == [None]
    assert len(sent.sent) == 2


def test_provisioning_the_same_person_twice_at_once_defers_the_second(engine: Engine) -> None:
    inner: list[Any] = []

    def work(user: str) -> dict[str, str]:
        inner.append(provision(engine, user, lambda u: {"user": u}, lock_ttl=30))
        return {"user": user}

    assert provision(engine, "u1", work, lock_ttl=30) == {"user": "u1"}
    assert inner == [None]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _push_app(settings: Settings, engine: Engine, **overrides: Any) -> FlaskClient:
    changed = settings.model_copy(update={"provision_on_push": True, **overrides})
    return create_app(changed, engine).test_client()


def test_a_dead_broker_does_not_fail_the_scim_request(settings: Settings, engine: Engine,
                                                      auth: dict[str, str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    client = _push_app(settings, engine, broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="sync.jobs.push"):
        response = client.post("/scim/v2/Users", json=USER, headers=auth)
    assert response.status_code == 201
    assert "could not queue provisioning" in caplog.text and "nightly sync" in caplog.text
    with engine.connect() as conn:  # the marker is dropped, so the next write tries again
        assert conn.scalar(select(Lock.name).where(Lock.name.like("push:%"))) is None


def test_a_rejected_write_queues_nothing(settings: Settings, engine: Engine,
                                         auth: dict[str, str]) -> None:
    sent = Recorder()
    client = _push_app(settings, engine)
    _queue_of(client).send = sent
    assert client.post("/scim/v2/Users", json=USER, headers=auth).status_code == 201
    assert client.post("/scim/v2/Users", json=USER, headers=auth).status_code == 409
    assert [args for _, args, _ in sent.sent] == [(_user_id(engine),)]


def test_a_bulk_request_queues_each_user_once(settings: Settings, engine: Engine,
                                              auth: dict[str, str]) -> None:
    sent = Recorder()
    client = _push_app(settings, engine)
    _queue_of(client).send = sent
    operations = [{"method": "POST", "path": "/Users", "bulkId": "a", "data": USER},
                  {"method": "PATCH", "path": "/Users/bulkId:a", "data": {
                      "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "path": "active", "value": False}]}}]
    response = client.post("/scim/v2/Bulk", headers=auth, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations})
    assert response.status_code == 200, response.get_json()
    assert [args for _, args, _ in sent.sent] == [(_user_id(engine),)]


def test_with_a_broker_a_write_puts_one_message_on_the_queue(settings: Settings, engine: Engine,
                                                             auth: dict[str, str]) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        server = redis.Redis.from_url(url)
        server.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    server.flushdb()
    try:
        client = _push_app(settings, engine, broker_url=url, push_delay_seconds=30)
        created = client.post("/scim/v2/Users", json=USER, headers=auth).get_json()
        for active in (False, True, False):
            client.patch(f"/scim/v2/Users/{created['id']}", headers=auth, json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": active}]})
        # countdown tasks sit in the list until a worker takes them
        assert server.llen("hr2bi") == 1
    finally:
        server.flushdb()


def test_without_a_broker_tasks_run_eagerly(settings: Settings) -> None:
    celery = create_celery(settings)
    assert celery.conf.task_always_eager and celery.conf.task_acks_late
    assert "hr2bi.provision_person" in celery.tasks and "hr2bi.sync" in celery.tasks


def _queue_of(client: FlaskClient) -> ProvisionQueue:
    hooks = client.application.extensions["scim"].on_write.hooks
    return next(h.queue for h in hooks if isinstance(h, PushHook))


def _user_id(engine: Engine) -> str:
    from sync.models import ScimUser

    with engine.connect() as conn:
        return str(conn.scalar(select(ScimUser.id)))
