"""The admin API's people and mappings areas: search, a person with every explanation,
JSON 404/401/422, the tables' status, and an audited impact preview with file:line errors."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.models import AuditEvent
from sync.tokens import create_token
from tests.console.test_console_people import people_world

GROUPS = Path(__file__).resolve().parents[2] / "mappings" / "groups.csv"


def _viewer(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {"Authorization": f"Bearer {create_token(session, 'script', 'viewer')}"}


def test_search_and_a_person_as_json(app: Flask, engine: Engine, tmp_path: Path, scim_token: str) -> None:
    world = people_world(engine, tmp_path, app, scim_token)
    client, auth = app.test_client(), _viewer(engine)
    found = client.get("/api/v1/people", query_string={"q": "hsilva"}, headers=auth).get_json()
    assert [p["key"] for p in found["people"]] == ["1001"] and found["total"] == 1
    assert found["people"][0]["linked"] is True and found["people"][0]["kind"] == "hr"
    idp = client.get("/api/v1/people", query_string={"q": "zoe.a"}, headers=auth).get_json()["people"]
    assert [(p["key"], p["kind"]) for p in idp] == [(f"idp:{world['zoe_scim_id']}", "idp")]
    paged = client.get("/api/v1/people", query_string={"limit": 2, "offset": 300}, headers=auth).get_json()
    assert [p["kind"] for p in paged["people"]] == ["hr", "idp"] and paged["total"] == 302

    person = client.get("/api/v1/people/1001", headers=auth).get_json()
    assert person["fields"]["user_name"] == {"value": "hsilva@northwind.example", "source": "idp"}
    assert person["fields"]["department"] == {"value": "Finance", "source": "hr"}
    assert person["desired"]["roles"]["warehouse/finance"] == "QUERIER" and person["applied"] is None
    role = next(r for r in person["explanation"]["roles"] if r["connection_model"] == "warehouse/finance")
    assert role["rows"][0]["row"] == "roles.csv:14" and role["rows"][0]["inputs"] == {"department": "Finance"}
    actions = [e["action"] for e in person["history"]["events"]]
    assert actions[:2] == ["user.create", "person.add"] and person["history"]["total"] == 2


def test_clear_errors(app: Flask, engine: Engine) -> None:
    client, auth = app.test_client(), _viewer(engine)
    missing = client.get("/api/v1/people/nobody-here", headers=auth)
    assert missing.status_code == 404 and "nobody-here" in missing.get_json()["message"]
    assert client.get("/api/v1/people?q=a").status_code == 401
    assert client.get("/api/v1/people?limit=100000", headers=auth).status_code == 422
    assert client.get("/api/v1/people", query_string={"q": "100\x00"}, headers=auth).status_code == 200
    assert client.get("/api/v1/people/a%00b", headers=auth).status_code == 404
    assert client.get("/api/v1/people/x?history_limit=0", headers=auth).status_code == 422


def test_mappings_status_and_an_audited_impact_preview(app: Flask, engine: Engine, tmp_path: Path,
                                                       scim_token: str) -> None:
    people_world(engine, tmp_path, app, scim_token)
    client, auth = app.test_client(), _viewer(engine)
    status = client.get("/api/v1/mappings", headers=auth).get_json()
    assert status["version"].startswith("sha256:") and status["problems"] == []
    assert status["cases"] and status["cases_failed"] == 0
    changed = GROUPS.read_text(encoding="utf-8").replace('department eq "Finance",Finance\n',
                                                          'department eq "Finance",Finance Team\n')
    report = client.post("/api/v1/mappings/impact", json={"files": {"groups.csv": changed}}, headers=auth)
    assert report.status_code == 200, report.get_data(as_text=True)
    body = report.get_json()
    assert body["from_version"] == status["version"] and body["people_changed"] > 0
    hiro = next(p for p in body["people"] if p["person"].startswith("1001"))
    assert {"kind": "group", "name": "Finance Team", "before": None, "after": "Finance Team"} in hiro["changes"]
    with session_scope(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "console.mappings.impact")).one()
    assert event.actor == "console:token:script" and event.after["to_version"] == body["to_version"]

    bad = client.post("/api/v1/mappings/impact", json={"files": {"groups.csv": "when,group\nnot a condition(,X\n"}},
                      headers=auth)
    assert bad.status_code == 200 and bad.get_json()["people"] == []
    assert any(p.startswith("groups.csv:2") for p in bad.get_json()["table_problems"])
    stray = client.post("/api/v1/mappings/impact", json={"files": {"../etc/passwd": "x"}}, headers=auth)
    assert "not a table file" in stray.get_json()["table_problems"][0]
    with session_scope(engine) as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "console.mappings.impact",
                                                           AuditEvent.outcome == "failure")).all()
    assert len(refused) == 2
