"""Issue 12, acceptance 1: SCIM writes from many clients at once, through real processes.

Identity providers write in parallel (Entra's initial cycle, Okta's group push). Each test
starts its requests together (a barrier) from client threads against ``hr2bi serve`` and
against gunicorn with threaded workers (the Procfile's server), over the test database
(SQLite, or PostgreSQL when DATABASE_URL is set), and checks what was stored: no write
answered 200 may be lost, ``If-Match`` lets exactly one of N writers through, a user deleted
while it is added to groups is in none of them afterwards, and every audited write's
"before" is the previous write's "after"."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scim.schema import GROUP, PATCH_OP, USER
from sync.db import session_scope
from sync.models import AuditEvent, ScimGroupMember, ScimUserValue
from sync.tokens import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "targets"))
from servers import ROOT, checkout_env, free_port, hr2bi, running

pytestmark = pytest.mark.slow

CLIENTS = 16  # parallel requests per test: more than gunicorn's threads below, as an IdP sends
T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    kind: str
    url: str


def _command(kind: str, port: int) -> list[str]:
    if kind == "serve":
        return hr2bi("serve", "--port", str(port))
    return [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread",
            "--threads", "4", "--bind", f"127.0.0.1:{port}", "sync.web:wsgi_app()"]


@pytest.fixture(scope="module", params=["serve", "gunicorn"])
def server(request: pytest.FixtureRequest, database_url: str, migrated_engine: Engine,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per kind for the module: the tests reset the database, not the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = checkout_env(DATABASE_URL=database_url, HR2BI_MIGRATE_ON_START="false",
                       HR2BI_LOG_LEVEL="WARNING")
    log = tmp_path_factory.mktemp("server") / f"{request.param}.log"
    with running(_command(request.param, port), f"{url}/healthz", {}, env=env, cwd=ROOT, log=log):
        yield Server(request.param, url)


@pytest.fixture
def scim(server: Server, engine: Engine) -> Iterator[httpx.Client]:
    """A client of the served SCIM endpoint, with a fresh token in the emptied database."""
    with session_scope(engine) as session:
        token = create_token(session, "idp-concurrency", "scim")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=f"{server.url}/scim/v2", headers=headers, timeout=30.0,
                      limits=httpx.Limits(max_connections=2 * CLIENTS)) as client:
        yield client


def all_at_once(send: Callable[[int], T], count: int = CLIENTS) -> list[T]:
    """``send(0..count-1)`` from ``count`` threads released together; results in order."""
    barrier = threading.Barrier(count)

    def released(n: int) -> T:
        barrier.wait(timeout=30)
        return send(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def create(scim: httpx.Client, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = scim.post(f"/{kind}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_users(scim: httpx.Client, count: int, prefix: str = "user") -> list[str]:
    return [create(scim, "Users", {"schemas": [USER], "userName": f"{prefix}{n}@example.com"})["id"]
            for n in range(count)]


def new_group(scim: httpx.Client, members: Sequence[str] = (), name: str = "Finance") -> str:
    return create(scim, "Groups", {"schemas": [GROUP], "displayName": name,
                                   "members": [{"value": m} for m in members]})["id"]


def patch(scim: httpx.Client, path: str, *operations: dict[str, Any],
          if_match: str | None = None) -> httpx.Response:
    headers = {"If-Match": if_match} if if_match else {}
    return scim.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)},
                      headers=headers)


def add_member(member: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": member}]}


def remove_member(member: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{member}"]'}


def members_of(scim: httpx.Client, group_id: str) -> set[str]:
    response = scim.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {m["value"] for m in response.json().get("members", [])}


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def assert_before_chains(engine: Engine, resource_id: str, writes: int) -> None:
    """The resource's audit events, in log order: each one's "before" is what the one
    before it left (a stale read would repeat an older state), ``writes`` of them."""
    with session_scope(engine) as session:
        events = [e for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                  if e.target.get("id") == resource_id]
    assert len(events) == writes
    assert events[0].before is None  # the create
    for previous, event in itertools.pairwise(events):
        assert event.before == previous.after, f"event {event.seq} ({event.action}) has a stale before"


def test_parallel_adds_to_one_group_keep_every_member(scim: httpx.Client, engine: Engine) -> None:
    users = new_users(scim, CLIENTS)
    group = new_group(scim)

    responses = all_at_once(lambda n: patch(scim, f"/Groups/{group}", add_member(users[n])))

    assert statuses(responses) == [200] * CLIENTS
    assert members_of(scim, group) == set(users)
    assert scim.get(f"/Groups/{group}").json()["meta"]["version"] == f'W/"{1 + CLIENTS}"'
    assert_before_chains(engine, group, 1 + CLIENTS)


def test_parallel_removes_from_one_group_leave_none_of_the_removed(
        scim: httpx.Client, engine: Engine) -> None:
    users = new_users(scim, 2 * CLIENTS)
    group = new_group(scim, users)
    removed, kept = users[:CLIENTS], users[CLIENTS:]

    responses = all_at_once(lambda n: patch(scim, f"/Groups/{group}", remove_member(removed[n])))

    assert statuses(responses) == [200] * CLIENTS
    assert members_of(scim, group) == set(kept)
    with session_scope(engine) as session:
        rows = set(session.scalars(select(ScimGroupMember.member_id)
                                   .where(ScimGroupMember.group_id == group)))
    assert rows == set(kept)
    assert_before_chains(engine, group, 1 + CLIENTS)


def test_parallel_email_adds_to_one_user_keep_every_email(scim: httpx.Client, engine: Engine) -> None:
    user = new_users(scim, 1)[0]
    emails = {f"alias{n}@example.com" for n in range(CLIENTS)}

    responses = all_at_once(lambda n: patch(scim, f"/Users/{user}", {
        "op": "add", "path": "emails", "value": [{"value": f"alias{n}@example.com", "type": "other"}]}))

    assert statuses(responses) == [200] * CLIENTS
    stored = scim.get(f"/Users/{user}").json()
    assert {e["value"] for e in stored["emails"]} == emails
    with session_scope(engine) as session:
        values = set(session.scalars(select(ScimUserValue.value).where(
            ScimUserValue.user_id == user, ScimUserValue.attribute == "emails")))
    assert values == emails
    assert_before_chains(engine, user, 1 + CLIENTS)


def test_one_if_match_lets_exactly_one_of_many_patches_through(
        scim: httpx.Client, engine: Engine) -> None:
    user = new_users(scim, 1)[0]
    version = scim.get(f"/Users/{user}").headers["ETag"]

    responses = all_at_once(lambda n: patch(
        scim, f"/Users/{user}", {"op": "replace", "path": "displayName", "value": f"Writer {n}"},
        if_match=version))

    assert statuses(responses) == [200] + [412] * (CLIENTS - 1)
    winner = next(n for n, r in enumerate(responses) if r.status_code == 200)
    stored = scim.get(f"/Users/{user}").json()
    assert stored["displayName"] == f"Writer {winner}"
    assert stored["meta"]["version"] == 'W/"2"'
    assert_before_chains(engine, user, 2)


def test_a_user_deleted_while_added_to_groups_is_left_in_none(
        scim: httpx.Client, engine: Engine) -> None:
    groups = [new_group(scim, name=f"Team {n}") for n in range(CLIENTS - 1)]
    for round_ in range(3):  # the race goes either way: give it a few chances each way
        user = new_users(scim, 1, prefix=f"leaver{round_}-")[0]

        def send(n: int, user: str = user) -> httpx.Response:
            if n == CLIENTS - 1:
                return scim.delete(f"/Users/{user}")
            return patch(scim, f"/Groups/{groups[n]}", add_member(user))

        *adds, deleted = all_at_once(send)

        assert deleted.status_code == 204, deleted.text
        for response in adds:  # added before the delete (then cascaded), or refused after it
            assert response.status_code in (200, 400), response.text
            if response.status_code == 400:
                assert response.json()["scimType"] == "invalidValue"
        assert all(user not in members_of(scim, g) for g in groups)
        with session_scope(engine) as session:
            dangling = session.scalars(select(ScimGroupMember).where(
                ScimGroupMember.member_id == user)).all()
        assert dangling == []


def test_mixed_parallel_writes_to_one_group_are_audited_with_the_state_they_replaced(
        scim: httpx.Client, engine: Engine) -> None:
    users = new_users(scim, CLIENTS)
    group = new_group(scim, users[: CLIENTS // 2])

    def send(n: int) -> httpx.Response:
        if n < CLIENTS // 2:
            return patch(scim, f"/Groups/{group}", remove_member(users[n]))
        if n % 4 == 0:
            return scim.put(f"/Groups/{group}", json={
                "schemas": [GROUP], "displayName": f"Finance {n}",
                "members": [{"value": m} for m in sorted(members_of(scim, group))]})
        return patch(scim, f"/Groups/{group}", add_member(users[n]))

    responses = all_at_once(send)

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    assert_before_chains(engine, group, 1 + CLIENTS)
