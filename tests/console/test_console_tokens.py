"""Tokens in the console and the admin API: admins create, list and revoke them; the secret
is shown once and never listed; each change is audited with the signed-in person; an
approver gets 403 on the page and the API; a form without its CSRF token is refused."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.models import AuditEvent
from sync.tokens import authenticate, create_token
from tests.console.conftest import csrf_token


def _token_events(engine: Engine) -> list[tuple[str, str, str]]:
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("token."))
                               .order_by(AuditEvent.seq))
        found = list(rows)
        assert all(e.reason["source"] == "console" for e in found)  # not the CLI
        return [(e.action, e.actor, e.target["name"]) for e in found]


def _live(engine: Engine, secret: str, scope: str) -> bool:
    with session_scope(engine) as session:
        return authenticate(session, secret, scope) is not None


def test_an_admin_creates_lists_and_revokes_in_the_console(signed_in: Callable[[str], FlaskClient],
                                                           engine: Engine) -> None:
    admin = signed_in("admin@example.com")
    page = admin.get("/console/tokens")
    assert page.status_code == 200 and 'id="tokens"' in page.get_data(as_text=True)
    token = csrf_token(admin, "/console/tokens")
    made = admin.post("/console/tokens", data={"csrf_token": token, "name": "okta-prod", "scope": "scim"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    html = made.get_data(as_text=True)
    secret = html.split('data-testid="secret">')[1].split("<")[0]
    assert secret.startswith("hr2bi_") and _live(engine, secret, "scim")
    listed = admin.get("/console/tokens").get_data(as_text=True)
    assert 'data-name="okta-prod"' in listed and secret not in listed  # shown once only
    taken = admin.post("/console/tokens", data={"csrf_token": token, "name": "okta-prod", "scope": "scim"})
    assert taken.status_code == 400 and "already exists" in taken.get_data(as_text=True)
    bad = admin.post("/console/tokens", data={"csrf_token": token, "name": "<b>x", "scope": "scim"})
    assert bad.status_code == 400 and "invalid token name" in bad.get_data(as_text=True)
    assert "<b>x" not in bad.get_data(as_text=True)  # escaped
    revoked = admin.post("/console/tokens/okta-prod/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert revoked.status_code == 200 and "Token okta-prod revoked" in revoked.get_data(as_text=True)
    assert not _live(engine, secret, "scim")
    unknown = admin.post("/console/tokens/nope/revoke", data={"csrf_token": token})
    assert unknown.status_code == 404
    assert _token_events(engine) == [("token.create", "console:admin@example.com", "okta-prod"),
                                     ("token.revoke", "console:admin@example.com", "okta-prod")]


def test_an_approver_cannot_touch_tokens(signed_in: Callable[[str], FlaskClient], engine: Engine,
                                        oidc_app: Flask) -> None:
    approver = signed_in("approver@example.com")
    assert approver.get("/console/tokens").status_code == 403
    assert "Tokens" not in approver.get("/console/").get_data(as_text=True).split("<main>")[0]
    token = csrf_token(approver, "/console/")
    assert approver.post("/console/tokens", data={"csrf_token": token, "name": "mine",
                                                  "scope": "admin"}).status_code == 403
    with session_scope(engine) as session:
        api_approver = create_token(session, "approver-script", "approver")
    headers = {"Authorization": f"Bearer {api_approver}"}
    api = oidc_app.test_client()
    assert api.get("/api/v1/tokens", headers=headers).status_code == 403
    assert api.post("/api/v1/tokens", json={"name": "mine", "scope": "admin"}, headers=headers).status_code == 403
    assert api.post("/api/v1/tokens/approver-script/revoke", headers=headers).status_code == 403
    assert _token_events(engine) == []


def test_a_token_form_without_csrf_is_refused(signed_in: Callable[[str], FlaskClient], engine: Engine) -> None:
    admin = signed_in("admin@example.com")
    refused = admin.post("/console/tokens", data={"name": "sneaky", "scope": "admin"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert _token_events(engine) == []


def test_the_api_creates_lists_and_revokes(app: Flask, engine: Engine, admin_token: str) -> None:
    client, headers = app.test_client(), {"Authorization": f"Bearer {admin_token}"}
    made = client.post("/api/v1/tokens", json={"name": "entra", "scope": "scim"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["name"] == "entra" and body["status"] == "active" and _live(engine, body["secret"], "scim")
    listed = client.get("/api/v1/tokens", headers=headers)
    assert listed.status_code == 200
    assert [t["name"] for t in listed.get_json()] == ["console-admin", "entra"]
    assert body["secret"] not in listed.get_data(as_text=True)
    assert all("secret" not in t for t in listed.get_json())
    taken = client.post("/api/v1/tokens", json={"name": "entra", "scope": "scim"}, headers=headers)
    assert taken.status_code == 409 and "already exists" in taken.get_json()["message"]
    assert client.post("/api/v1/tokens", json={"name": "<b>", "scope": "scim"}, headers=headers).status_code == 422
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=headers).status_code == 422
    assert client.post("/api/v1/tokens", json={"name": "x", "scope": "root"}, headers=headers).status_code == 422
    gone = client.post("/api/v1/tokens/entra/revoke", headers=headers)
    assert gone.status_code == 200 and gone.get_json()["status"] == "revoked"
    assert not _live(engine, body["secret"], "scim")
    missing = client.post("/api/v1/tokens/nobody/revoke", headers=headers)
    assert missing.status_code == 404 and "no token named" in missing.get_json()["message"]
    assert _token_events(engine) == [("token.create", "console:token:console-admin", "entra"),
                                     ("token.revoke", "console:token:console-admin", "entra")]
