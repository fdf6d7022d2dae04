"""The audit pages: a viewer searches the trail and pages through it, downloads a bundle
that ``hr2bi audit verify`` accepts (the download is itself an audit event of that person),
sees the checkpoint history; without a signing key the download says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.audit.checkpoint import generate_key_files, load_public_key
from sync.audit.store import checkpoint_now, store_checkpoint
from sync.audit.verify import verify_download
from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditEvent
from sync.web import create_app
from tests.api.test_api_audit import ORIGIN, seed
from tests.console.conftest import sign_in_oidc

SEQ = re.compile(r'<tr data-seq="(\d+)">')


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_key_files(tmp_path / "keys")


def viewer(settings: Settings, engine: Engine) -> FlaskClient:
    client = create_app(settings, engine).test_client()
    assert sign_in_oidc(client, "viewer@example.com").status_code == 302
    return client


@pytest.fixture
def keyed_viewer(oidc_settings: Settings, engine: Engine, keys: tuple[Path, Path]) -> FlaskClient:
    settings = oidc_settings.model_copy(update={"audit_signing_key": keys[0], "audit_origin": ORIGIN})
    return viewer(settings, engine)


def shown(client: FlaskClient, query: str) -> list[int]:
    page = client.get(f"/console/audit{query}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return [int(s) for s in SEQ.findall(page.get_data(as_text=True))]


def test_a_viewer_searches_the_trail(keyed_viewer: FlaskClient, engine: Engine) -> None:
    seed(engine)  # the viewer's sign-in is event 1, then 9 more
    assert shown(keyed_viewer, "") == list(range(10, 0, -1))
    assert shown(keyed_viewer, "?actor=token:okta&target=&action=") == [3, 2]  # empty fields ignored
    assert shown(keyed_viewer, "?action=token") == [6, 5]
    assert shown(keyed_viewer, "?target=Finance") == [4]
    assert shown(keyed_viewer, "?actor=console:viewer") == [1]
    assert shown(keyed_viewer, "?until=2020-01-01") == []
    page = keyed_viewer.get("/console/audit?limit=3&action=console").get_data(as_text=True)
    assert 'id="events"' in page and 'id="next"' in page
    older = re.search(r'id="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "before=8" in older and "action=console" in older
    assert shown(keyed_viewer, older.removeprefix("/console/audit")) == [1]
    bad = keyed_viewer.get("/console/audit?since=not-a-time")
    assert bad.status_code == 400 and "Check the filters: since" in bad.get_data(as_text=True)


def test_the_downloaded_bundle_verifies_and_is_audited(keyed_viewer: FlaskClient, engine: Engine,
                                                       keys: tuple[Path, Path], tmp_path: Path) -> None:
    seed(engine)
    answer = keyed_viewer.get("/console/audit/bundle?since=&until=")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    (tmp_path / "bundle.zip").write_bytes(answer.get_data())
    report = verify_download(tmp_path / "bundle.zip", load_public_key(keys[1]))
    assert (report.first_seq, report.last_seq) == (1, 10) and report.signature_checked
    with session_scope(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).one()
    assert event.actor == "console:viewer@example.com" and event.outcome == "success"
    assert shown(keyed_viewer, "?action=audit.export") == [event.seq]


def test_without_a_signing_key_the_download_says_so(oidc_app: Flask, engine: Engine) -> None:
    seed(engine)
    client = oidc_app.test_client()
    sign_in_oidc(client, "viewer@example.com")
    answer = client.get("/console/audit/bundle")
    assert answer.status_code == 503
    assert "no signing key (HR2BI_AUDIT_SIGNING_KEY)" in answer.get_data(as_text=True)
    history = client.get("/console/audit/checkpoints").get_data(as_text=True)
    assert "no signing key is configured" in history and "No checkpoint stored yet" in history


def test_the_checkpoint_history(keyed_viewer: FlaskClient, engine: Engine, keys: tuple[Path, Path]) -> None:
    seed(engine)
    for _ in range(2):
        with session_scope(engine) as session:
            store_checkpoint(session, checkpoint_now(session, keys[0], ORIGIN), None)
    page = keyed_viewer.get("/console/audit/checkpoints")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="checkpoints"' in html
    assert html.count('data-testid="signature">valid') == 2
    assert re.search(r'data-testid="consistent">\s*yes', html) and re.search(r'data-testid="consistent">\s*first', html)


def test_signed_out_gets_the_signin_page(app: Flask) -> None:
    for path in ("/console/audit", "/console/audit/bundle", "/console/audit/checkpoints",
                 "/console/provisioning", "/console/tokens"):
        answer = app.test_client().get(path)
        assert answer.status_code == 302 and "/console/signin" in answer.headers["Location"], path
