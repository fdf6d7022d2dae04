"""The console's mappings page: the tables version in force and the golden cases, and an
impact preview of uploaded or pasted table files (audited with the signed-in person; bad
tables answer with their file:line problems; a form without its CSRF token is refused)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.models import AuditEvent
from sync.web import create_app
from tests.console.conftest import console_settings, csrf_token
from tests.console.test_console_people import example_rows, people_world, run_import

GROUPS = Path(__file__).resolve().parents[2] / "mappings" / "groups.csv"


def test_the_page_shows_the_version_and_the_golden_cases(signed_in: Callable[[str], FlaskClient]) -> None:
    html = signed_in("viewer@example.com").get("/console/mappings").get_data(as_text=True)
    assert 'id="version"' in html and "Tables in force" in html
    assert 'id="cases"' in html and 'data-passed="true"' in html and 'data-passed="false"' not in html
    assert "cases.yaml:" in html


def test_an_impact_preview_from_an_upload_is_audited(signed_in: Callable[[str], FlaskClient], oidc_app: Flask,
                                                     engine: Engine, tmp_path: Path, scim_token: str) -> None:
    people_world(engine, tmp_path, oidc_app, scim_token)
    viewer = signed_in("viewer@example.com")
    changed = GROUPS.read_bytes().replace(b'department eq "Finance",Finance\n', b'department eq "Finance",Finance Team\n')
    answer = viewer.post("/console/mappings/impact", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(viewer, "/console/mappings"), "files": (io.BytesIO(changed), "groups.csv")})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'id="impact"' in html and "gains group <b>Finance Team</b>" in html and "loses group <b>Finance</b>" in html
    with session_scope(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "console.mappings.impact")).one()
    assert event.actor == "console:viewer@example.com" and event.after["files"] == ["groups.csv"]


def test_bad_tables_show_their_problems_and_csrf_is_required(signed_in: Callable[[str], FlaskClient]) -> None:
    viewer = signed_in("viewer@example.com")
    token = csrf_token(viewer, "/console/mappings")
    bad = viewer.post("/console/mappings/impact", data={"csrf_token": token, "path": "groups.csv",
                                                        "text": "when,group\nnot a condition(,X\n"})
    assert bad.status_code == 422 and "groups.csv:2" in bad.get_data(as_text=True)
    empty = viewer.post("/console/mappings/impact", data={"csrf_token": token})
    assert empty.status_code == 400 and "upload the changed table file" in empty.get_data(as_text=True)
    forged = viewer.post("/console/mappings/impact", data={"path": "groups.csv", "text": "when,group\n*,X\n"})
    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)


def test_tables_that_do_not_load_are_shown_not_a_500(engine: Engine, database_url: str, admin_token: str,
                                                     tmp_path: Path) -> None:
    tables = tmp_path / "mappings"
    tables.mkdir()
    for name in ("fields.yaml", "scope.yaml", "roles.csv", "attributes.csv"):
        (tables / name).write_bytes((GROUPS.parent / name).read_bytes())
    (tables / "groups.csv").write_text("when,group\nnot a condition(,X\n", encoding="utf-8")
    app = create_app(console_settings(database_url, mappings_dir=tables), engine)
    admin = app.test_client()
    signed = admin.post("/console/signin/token", data={"token": admin_token, "csrf_token": csrf_token(admin)})
    assert signed.status_code == 302
    page = admin.get("/console/mappings").get_data(as_text=True)
    assert "do not load" in page and "groups.csv:2" in page
    preview = admin.post("/console/mappings/impact", data={
        "csrf_token": csrf_token(admin, "/console/mappings"), "path": "groups.csv", "text": "when,group\n*,X\n"})
    assert preview.status_code == 422
    assert "the tables in force do not load: groups.csv:2" in preview.get_data(as_text=True)
    run_import(engine, tmp_path, example_rows()[:3])
    person = admin.get("/console/people/1000")
    assert person.status_code == 200 and "the mapping tables do not load" in person.get_data(as_text=True)
