"""The admin API's runs, overview and provision-on-demand endpoints, from the outside: bearer
tokens by scope against a plan the guard held over a real BI sandbox; every answer checked
against the OpenAPI document the app serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange
from sync.tokens import create_token
from sync.web import create_app
from tests.console.held_world import (  # noqa: F401 (bi_sandbox is a fixture)
    HeldWorld,
    Sandbox,
    bi_sandbox,
    example_rows,
    held_world,
    import_rows,
)


@pytest.fixture
def world(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path,  # noqa: F811
          settings: Settings) -> HeldWorld:
    return held_world(engine, database_url, bi_sandbox, tmp_path, settings)


@pytest.fixture
def api(world: HeldWorld, engine: Engine) -> Flask:
    return create_app(world.settings, engine)


@pytest.fixture
def tokens(engine: Engine) -> dict[str, dict[str, str]]:
    with session_scope(engine) as session:
        return {scope: {"Authorization": f"Bearer {create_token(session, f'api-{scope}', scope)}"}
                for scope in ("viewer", "approver", "admin")}


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _json(client: FlaskClient, method: str, path: str, headers: dict[str, str], status: int,
          body: Any = None) -> Any:
    answer = client.open(path, method=method, headers=headers, json=body)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    return answer.get_json()


def test_a_viewer_reads_runs_and_changes_but_cannot_decide(api: Flask, world: HeldWorld,
                                                           tokens: dict[str, dict[str, str]]) -> None:
    run_id = world.held_plan()
    client, viewer = api.test_client(), tokens["viewer"]
    page = _json(client, "GET", "/api/v1/runs?status=held", viewer, 200)
    assert [r["id"] for r in page["runs"]] == [run_id] and page["total"] == 1
    assert page["runs"][0]["caused_by"] == "system:plan"
    assert _json(client, "GET", "/api/v1/runs?kind=plan&limit=1", viewer, 200)["total"] == 2
    detail = _json(client, "GET", f"/api/v1/runs/{run_id}", viewer, 200)
    assert detail["held"] is True and detail["changes_by_kind"]["user.deactivate"] == 1
    leaver = world.leaver["Work Email"].lower()
    found = _json(client, "GET", f"/api/v1/runs/{run_id}/changes?kind=user&kind=group.create&q={leaver}", viewer, 200)
    assert [(c["kind"], c["subject"]) for c in found["changes"]] == [("user.deactivate", leaver)]
    assert _json(client, "GET", f"/api/v1/runs/{run_id}/changes?kind=nope", viewer, 422)["errors"]["query"]["kind"]
    assert _json(client, "GET", "/api/v1/runs?status=sideways", viewer, 422)
    assert "no run 999999" in _json(client, "GET", "/api/v1/runs/999999", viewer, 404)["message"]
    for action, body in (("approve", {}), ("reject", {"comment": "no"})):
        assert "approver" in _json(client, "POST", f"/api/v1/runs/{run_id}/{action}", viewer, 403, body)["message"]
    assert _json(client, "POST", "/api/v1/provision", viewer, 403, {"person": leaver})


def test_an_approver_approves_and_the_outbox_is_applied(api: Flask, world: HeldWorld, engine: Engine,
                                                        tokens: dict[str, dict[str, str]]) -> None:
    run_id = world.held_plan()
    client, approver = api.test_client(), tokens["approver"]
    done = _json(client, "POST", f"/api/v1/runs/{run_id}/approve", approver, 200, {"comment": "ok by HR"})
    assert done["run"]["status"] == "approved" and done["apply"]["applied"] >= 1 and done["apply"]["failed"] == 0
    with session_scope(engine) as session:
        assert set(session.scalars(select(OutboxChange.status).where(OutboxChange.run_id == run_id))) == {"done"}
    [event] = _events(engine, "run.approve")
    assert event.actor == "console:token:api-approver" and event.reason["comment"] == "ok by HR"
    assert "not held" in _json(client, "POST", f"/api/v1/runs/{run_id}/approve", approver, 409)["message"]


def test_reject_needs_a_comment(api: Flask, world: HeldWorld, engine: Engine,
                                tokens: dict[str, dict[str, str]]) -> None:
    run_id = world.held_plan()
    client, approver = api.test_client(), tokens["approver"]
    for body in ({}, {"comment": "   "}):
        _json(client, "POST", f"/api/v1/runs/{run_id}/reject", approver, 422, body)
    done = _json(client, "POST", f"/api/v1/runs/{run_id}/reject", approver, 200, {"comment": "bad feed"})
    assert done["run"]["status"] == "rejected" and done["apply"] is None
    assert [e.actor for e in _events(engine, "run.reject")] == ["console:token:api-approver"]


def test_a_held_import_is_approved_as_the_token(app: Flask, engine: Engine, tmp_path: Path,
                                                tokens: dict[str, dict[str, str]]) -> None:
    rows = example_rows()
    import_rows(engine, tmp_path, rows)
    held = import_rows(engine, tmp_path, rows[: len(rows) // 2])  # half the company gone: held
    assert held.status == "held"
    client = app.test_client()
    detail = _json(client, "GET", f"/api/v1/runs/{held.id}", tokens["viewer"], 200)
    assert detail["kind"] == "import" and detail["caused_by"] == "source:hr" and detail["changes_by_kind"] == {}
    done = _json(client, "POST", f"/api/v1/runs/{held.id}/approve", tokens["approver"], 200)
    assert done["run"]["status"] == "approved" and done["apply"] is None
    assert done["run"]["approved_by"] == "console:token:api-approver"
    [event] = _events(engine, "run.approve")
    assert event.actor == "console:token:api-approver" and "comment" not in event.reason


def test_the_overview(api: Flask, world: HeldWorld, tokens: dict[str, dict[str, str]]) -> None:
    run_id = world.held_plan()
    found = _json(api.test_client(), "GET", "/api/v1/overview", tokens["viewer"], 200)
    assert found["health"] == {"database": "ok", "broker": "embedded", "bi_platform": "ok"}
    assert [r["id"] for r in found["held"]] == [run_id]
    assert {r["kind"] for r in found["last_runs"]} == {"import", "plan"}
    assert [s["source"] for s in found["sources"]] == ["hr"] and found["sources"][0]["last_success"]
    assert found["outbox"] == {"failed": 0, "quarantined": 0, "pending": 1}
    assert found["rate_limit"]["headroom"] is None and found["rate_limit"]["keys"] == 1


def test_provision_on_demand_dry_run_then_now(api: Flask, world: HeldWorld, engine: Engine, bi_sandbox: Sandbox,  # noqa: F811
                                              tokens: dict[str, dict[str, str]]) -> None:
    client, approver = api.test_client(), tokens["approver"]
    person = world.rows[1]
    renamed = [dict(r, **({"Last Name": "Renamed"} if r is person else {})) for r in world.rows]
    import_rows(engine, world.tmp_path, renamed)
    email = person["Work Email"].lower()
    dry = _json(client, "POST", "/api/v1/provision", approver, 200, {"person": email, "dry_run": True})
    assert dry["outcome"] == "would change" and dry["calls"] == [] and dry["run"] is None
    assert [c["kind"] for c in dry["changes"]] == ["user.update"] and dry["explained"]
    now = _json(client, "POST", "/api/v1/provision", approver, 200, {"person": person["Employee ID"]})
    assert now["outcome"] == "applied" and now["calls"] and now["run"]["applied"] == 1
    names = [u["displayName"] for u in bi_sandbox.state()["users"].values() if u["userName"] == email]
    assert names and names[0].endswith("Renamed")
    assert _json(client, "POST", "/api/v1/provision", approver, 404, {"person": "nobody@nowhere.example"})
    assert _json(client, "POST", "/api/v1/provision", approver, 422, {"person": "  "})
    events = [(e.actor, e.outcome, e.reason["dry_run"]) for e in _events(engine, "console.provision")]
    assert events == [("console:token:api-approver", "success", True), ("console:token:api-approver", "success", False),
                      ("console:token:api-approver", "failure", False)]


def test_every_answer_fits_the_served_document(api: Flask, world: HeldWorld,
                                               tokens: dict[str, dict[str, str]]) -> None:
    """The served document's schemas accept what the endpoints answer (schemathesis)."""
    schemathesis = pytest.importorskip("schemathesis")
    run_id = world.held_plan()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api)
    client = api.test_client()
    one = "/api/v1/runs/{run_id}"
    for method, template, run, status in (
            ("GET", "/api/v1/overview", None, 200), ("GET", "/api/v1/runs", None, 200), ("GET", one, run_id, 200),
            ("GET", f"{one}/changes", run_id, 200), ("GET", one, 424242, 404), ("POST", f"{one}/reject", run_id, 422),
            ("GET", "/api/v1/runs", None, 401)):
        headers = tokens["approver"] if status != 401 else {}
        path = template.replace("{run_id}", str(run))
        answer = client.open(path, method=method, headers=headers, json={} if method == "POST" else None)
        assert answer.status_code == status, (path, answer.get_data(as_text=True))
        schema[template][method].validate_response(answer)

