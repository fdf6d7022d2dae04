"""The console's overview and runs pages, from the outside: signed in through the real local
OpenID provider, a plan the guard held (a real BI sandbox) is found, its changes reviewed and
searched, and approved (applied) or rejected; viewers see it but cannot decide; the
four-eyes rule refuses whoever caused the hold; a form without its CSRF token is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange, Run
from sync.plan.service import plan
from sync.runs import acting
from sync.web import create_app
from tests.console.conftest import csrf_token, sign_in_oidc
from tests.console.held_world import HeldWorld, Sandbox, bi_sandbox, held_world  # noqa: F401 (a fixture)

SignIn = Callable[[str], FlaskClient]


@pytest.fixture
def world(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path,  # noqa: F811
          oidc_settings: Settings) -> HeldWorld:
    return held_world(engine, database_url, bi_sandbox, tmp_path, oidc_settings)


@pytest.fixture
def oidc_app(world: HeldWorld, engine: Engine) -> Flask:
    """The console app over the held world's settings (``signed_in`` signs in to it)."""
    return create_app(world.settings, engine)


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _statuses(engine: Engine, run_id: int) -> set[str]:
    with session_scope(engine) as session:
        return set(session.scalars(select(OutboxChange.status).where(OutboxChange.run_id == run_id)))


def _run(engine: Engine, run_id: int) -> Run:
    with session_scope(engine) as session:
        return session.get(Run, run_id)


def test_an_approver_finds_reviews_and_approves_a_held_plan(world: HeldWorld, signed_in: SignIn,
                                                            engine: Engine, bi_sandbox: Sandbox) -> None:  # noqa: F811
    run_id = world.held_plan()
    leaver = world.leaver["Work Email"].lower()
    client = signed_in("approver@example.com")

    home = client.get("/console/").get_data(as_text=True)
    assert f'href="/console/runs/{run_id}"' in home and 'id="held"' in home
    assert "unknown" in home  # the rate limit's headroom: not invented
    health = client.get("/console/overview/health").get_data(as_text=True)
    assert health.count(">ok<") == 2 and ">embedded<" in health  # database, BI platform; no broker
    listed = client.get("/console/runs?status=held").get_data(as_text=True)
    assert f'data-run="{run_id}" data-status="held"' in listed
    assert 'data-status="succeeded"' not in listed

    page = client.get(f"/console/runs/{run_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="approve"' in text and 'name="comment"' in text
    assert "Held because" in text and 'id="changes"' in text and leaver in text
    only = client.get(f"/console/runs/{run_id}?kind=user.deactivate").get_data(as_text=True)
    assert only.count('data-kind="user.deactivate"') == 1 and 'data-kind="group.members"' not in only
    found = client.get(f"/console/runs/{run_id}?q={leaver[:6].upper()}", headers={"HX-Request": "true"})
    fragment = found.get_data(as_text=True)
    assert fragment.startswith('<div id="changes-block">') and leaver in fragment  # htmx: the table only
    nothing = client.get(f"/console/runs/{run_id}?q=nobody-at-all").get_data(as_text=True)
    assert "No changes match" in nothing
    assert client.get(f"/console/runs/{run_id}?kind=users.nope").status_code == 400

    token = csrf_token(client, f"/console/runs/{run_id}")
    done = client.post(f"/console/runs/{run_id}/approve", data={"csrf_token": token, "comment": "expected leaver"},
                       follow_redirects=True)
    shown = done.get_data(as_text=True)
    assert done.status_code == 200 and f"Run {run_id} approved and applied" in shown and "0 failed" in shown
    assert _run(engine, run_id).status == "approved" and _statuses(engine, run_id) == {"done"}
    assert [u["active"] for u in bi_sandbox.state()["users"].values() if u["userName"] == leaver] == [False]
    [event] = _events(engine, "run.approve")
    assert event.actor == "console:approver@example.com" and event.run_id == run_id
    assert event.reason["comment"] == "expected leaver" and event.reason["source"] == "console"
    again = client.post(f"/console/runs/{run_id}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "not held" in again.get_data(as_text=True)


def test_a_viewer_sees_the_held_plan_but_cannot_decide(world: HeldWorld, signed_in: SignIn, engine: Engine) -> None:
    run_id = world.held_plan()
    client = signed_in("viewer@example.com")
    page = client.get(f"/console/runs/{run_id}").get_data(as_text=True)
    assert 'id="changes"' in page and 'id="approve"' not in page and 'id="reject"' not in page
    token = csrf_token(client, f"/console/runs/{run_id}")
    for action in ("approve", "reject"):
        refused = client.post(f"/console/runs/{run_id}/{action}", data={"csrf_token": token, "comment": "x"})
        assert refused.status_code == 403 and "approver" in refused.get_data(as_text=True)
    assert client.get("/console/provision").status_code == 403
    assert 'href="/console/provision"' not in page  # not in a viewer's navigation
    assert _run(engine, run_id).status == "held" and not _events(engine, "run.approve")


def test_reject_needs_a_comment_and_discards_the_changes(world: HeldWorld, signed_in: SignIn, engine: Engine) -> None:
    run_id = world.held_plan()
    client = signed_in("approver@example.com")
    token = csrf_token(client, f"/console/runs/{run_id}")
    bare = client.post(f"/console/runs/{run_id}/reject", data={"csrf_token": token, "comment": "  "})
    assert bare.status_code == 400 and "comment is required" in bare.get_data(as_text=True)
    assert _run(engine, run_id).status == "held"

    done = client.post(f"/console/runs/{run_id}/reject", data={"csrf_token": token, "comment": "feed truncated"},
                       follow_redirects=True)
    assert f"Run {run_id} rejected" in done.get_data(as_text=True)
    assert _run(engine, run_id).status == "rejected" and _statuses(engine, run_id) == {"rejected"}
    [event] = _events(engine, "run.reject")
    assert event.actor == "console:approver@example.com"
    assert event.reason["rejected_because"] == "feed truncated" and event.reason["comment"] == "feed truncated"


def test_a_form_without_the_csrf_token_changes_nothing(world: HeldWorld, signed_in: SignIn, engine: Engine) -> None:
    run_id = world.held_plan()
    client = signed_in("approver@example.com")
    refused = client.post(f"/console/runs/{run_id}/approve", data={"comment": "no token"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert _run(engine, run_id).status == "held"


def test_four_eyes_refuses_whoever_caused_the_hold(engine: Engine, database_url: str, bi_sandbox: Sandbox,  # noqa: F811
                                                   tmp_path: Path, oidc_settings: Settings) -> None:
    world = held_world(engine, database_url, bi_sandbox, tmp_path, oidc_settings, console_four_eyes=True)
    world.terminate_one()
    with acting("console:approver@example.com"):  # the approver started the plan that was held
        run_id = plan(engine, world.settings).run_id
    app = create_app(world.settings, engine)
    causer = app.test_client()
    sign_in_oidc(causer, "approver@example.com")
    page = causer.get(f"/console/runs/{run_id}").get_data(as_text=True)
    assert "four-eyes rule" in page and "console:approver@example.com" in page
    token = csrf_token(causer, f"/console/runs/{run_id}")
    refused = causer.post(f"/console/runs/{run_id}/approve", data={"csrf_token": token})
    assert refused.status_code == 409 and "someone else must approve it" in refused.get_data(as_text=True)
    assert _run(engine, run_id).status == "held"

    other = app.test_client()
    sign_in_oidc(other, "admin@example.com")
    done = other.post(f"/console/runs/{run_id}/approve", data={"csrf_token": csrf_token(other, "/console/")})
    assert done.status_code == 302 and _run(engine, run_id).status == "approved"
