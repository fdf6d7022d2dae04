"""Provision on demand from the console: one person now (or a dry run), each step shown,
audited as the signed-in person; a plan it causes that the guard holds records them as its
causer, so under the four-eyes rule someone else approves it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditEvent, Run
from sync.web import create_app
from tests.console.conftest import csrf_token
from tests.console.held_world import (  # noqa: F401 (bi_sandbox is a fixture)
    HeldWorld,
    Sandbox,
    bi_sandbox,
    held_world,
    import_rows,
)

SignIn = Callable[[str], FlaskClient]


@pytest.fixture
def world(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path,  # noqa: F811
          oidc_settings: Settings) -> HeldWorld:
    return held_world(engine, database_url, bi_sandbox, tmp_path, oidc_settings, console_four_eyes=True)


@pytest.fixture
def oidc_app(world: HeldWorld, engine: Engine) -> Flask:
    return create_app(world.settings, engine)


def _provision(client: FlaskClient, person: str, dry_run: bool = False) -> tuple[int, str]:
    data = {"csrf_token": csrf_token(client, "/console/provision"), "person": person}
    if dry_run:
        data["dry_run"] = "1"
    answer = client.post("/console/provision", data=data)
    return answer.status_code, answer.get_data(as_text=True)


def _events(engine: Engine) -> list[tuple[str, str, bool]]:
    with session_scope(engine) as session:
        return [(e.actor, e.outcome, e.reason["dry_run"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "console.provision").order_by(AuditEvent.seq))]


def test_one_person_dry_run_then_now_step_by_step(world: HeldWorld, signed_in: SignIn, engine: Engine,
                                                  bi_sandbox: Sandbox) -> None:  # noqa: F811
    person = world.rows[1]
    email = person["Work Email"].lower()
    import_rows(engine, world.tmp_path, [dict(r, **({"Job Title": "Chief Analyst"} if r is person else {}))
                                         for r in world.rows])
    client = signed_in("approver@example.com")
    form = client.get("/console/provision").get_data(as_text=True)
    assert 'id="provision-form"' in form and 'name="csrf_token"' in form

    status, dry = _provision(client, email, dry_run=True)
    assert status == 200 and 'data-outcome="would change"' in dry and "(dry run)" in dry
    assert 'id="sources-read"' in dry and person["Employee ID"] in dry and 'class="card explained"' in dry
    assert 'data-kind="group.create"' in dry and "Analysts" in dry and 'id="calls"' not in dry

    status, now = _provision(client, person["Employee ID"])
    assert status == 200 and 'data-outcome="applied"' in now and 'id="calls"' in now
    assert re.search(r"<tr><td>(POST|PUT|PATCH)</td>", now), now
    state = bi_sandbox.state()
    [user] = [u["id"] for u in state["users"].values() if u["userName"] == email]
    assert any(g["displayName"] == "Analysts" and user in g["members"] for g in state["groups"].values())
    assert _events(engine) == [("console:approver@example.com", "success", True),
                               ("console:approver@example.com", "success", False)]


def test_nobody_and_blank_are_clear_refusals(world: HeldWorld, signed_in: SignIn, engine: Engine) -> None:
    client = signed_in("approver@example.com")
    status, page = _provision(client, "nobody@nowhere.example")
    assert status == 404 and "nobody has the employee id" in page
    status, page = _provision(client, "   ")
    assert status == 400 and "Name the person" in page
    assert _events(engine) == [("console:approver@example.com", "failure", False)]
    refused = client.post("/console/provision", data={"person": "nobody"})  # no CSRF token
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    viewer = signed_in("viewer@example.com")
    denied = viewer.post("/console/provision", data={"csrf_token": csrf_token(viewer, "/console/"), "person": "x"})
    assert denied.status_code == 403


def test_a_hold_it_causes_needs_another_approver(world: HeldWorld, signed_in: SignIn, engine: Engine) -> None:
    world.terminate_one()
    leaver = world.leaver["Work Email"].lower()
    causer = signed_in("approver@example.com")
    status, page = _provision(causer, leaver)
    assert status == 200 and 'data-outcome="held"' in page
    with session_scope(engine) as session:
        run = session.scalars(select(Run).where(Run.status == "held")).one()
        run_id, caused = run.id, run.details["caused_by"]
    assert caused == "console:approver@example.com" and f'href="/console/runs/{run_id}"' in page

    refused = causer.post(f"/console/runs/{run_id}/approve",
                          data={"csrf_token": csrf_token(causer, f"/console/runs/{run_id}")})
    assert refused.status_code == 409 and "four-eyes rule" in refused.get_data(as_text=True)
    admin = signed_in("admin@example.com")
    done = admin.post(f"/console/runs/{run_id}/approve", data={"csrf_token": csrf_token(admin, "/console/"),
                                                               "comment": "confirmed with HR"})
    assert done.status_code == 302
    with session_scope(engine) as session:
        assert session.get(Run, run_id).status == "approved"
