"""Signing in to the console: through a real OpenID provider, with an admin token; the
idle timeout, CSRF, and that a signed-out request gets only the sign-in page."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.models import AuditEvent
from tests.console.conftest import csrf_token, sign_in_oidc


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.seq)))


def test_signed_out_requests_get_the_signin_page(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/console/", "/console/anything-else"):
        answer = client.get(path, follow_redirects=True)
        assert answer.request.path == "/console/signin", path
        assert "Sign in to hr2bi" in answer.get_data(as_text=True)
    htmx = client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/signin")


def test_token_signin_signout_and_audit(app: Flask, engine: Engine, admin_token: str) -> None:
    client = app.test_client()
    token = csrf_token(client)
    bad = client.post("/console/signin/token", data={"csrf_token": token, "token": "hr2bi_nope"})
    assert bad.status_code == 401 and "not a live admin-scope token" in bad.get_data(as_text=True)
    good = client.post("/console/signin/token", data={"csrf_token": token, "token": admin_token})
    assert good.status_code == 302
    home = client.get("/console/")
    assert home.status_code == 200 and "token:console-admin" in home.get_data(as_text=True)
    assert admin_token not in home.get_data(as_text=True)
    client.post("/console/signout", data={"csrf_token": csrf_token(client, "/console/")})
    assert client.get("/console/").status_code == 302
    signins = _events(engine, "console.signin")
    assert [(e.actor, e.outcome) for e in signins] == [("console:unknown", "failure"),
                                                       ("console:token:console-admin", "success")]
    assert [e.actor for e in _events(engine, "console.signout")] == ["console:token:console-admin"]


def test_a_form_without_its_csrf_token_is_refused(app: Flask, admin_token: str) -> None:
    client = app.test_client()
    refused = client.post("/console/signin/token", data={"token": admin_token})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    forged = client.post("/console/signin/token", data={"token": admin_token, "csrf_token": "x" * 40})
    assert forged.status_code == 400
    assert client.get("/console/").status_code == 302  # not signed in


def test_oidc_signin_gives_the_role_of_the_idp_groups(oidc_app: Flask, engine: Engine) -> None:
    for email, role in (("viewer@example.com", "viewer"), ("approver@example.com", "approver"),
                        ("admin@example.com", "admin")):
        client = oidc_app.test_client()
        done = sign_in_oidc(client, email)
        assert done.status_code == 302, done.get_data(as_text=True)
        page = client.get("/console/").get_data(as_text=True)
        assert f"{email} · {role}" in page
    outsider = oidc_app.test_client()
    refused = sign_in_oidc(outsider, "outsider@example.com")
    assert refused.status_code == 403 and "none of the console" in refused.get_data(as_text=True)
    assert outsider.get("/console/").status_code == 302
    outcomes = [(e.actor, e.outcome, (e.after or {}).get("role")) for e in _events(engine, "console.signin")]
    assert outcomes == [("console:viewer@example.com", "success", "viewer"),
                        ("console:approver@example.com", "success", "approver"),
                        ("console:admin@example.com", "success", "admin"),
                        ("console:outsider@example.com", "failure", None)]


def test_no_token_signin_when_an_idp_is_configured(oidc_app: Flask, admin_token: str) -> None:
    client = oidc_app.test_client()
    page = client.get("/console/signin").get_data(as_text=True)
    assert "Sign in with your identity provider" in page and "Admin token" not in page
    answer = client.post("/console/signin/token", data={"csrf_token": csrf_token(client), "token": admin_token})
    assert answer.status_code == 404


def test_a_forged_callback_is_a_clear_400(oidc_app: Flask) -> None:
    client = oidc_app.test_client()
    answer = client.get("/console/oidc/callback?code=forged&state=forged")
    assert answer.status_code == 400 and "sign in again" in answer.get_data(as_text=True)


def test_an_idle_session_ends(signed_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("viewer@example.com")
    assert client.get("/console/").status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    ended = client.get("/console/", follow_redirects=True)
    assert ended.request.path == "/console/signin"
    assert "30 minutes without activity" in ended.get_data(as_text=True)


def test_the_session_cookie_is_httponly_and_samesite(app: Flask, admin_token: str) -> None:
    client = app.test_client()
    answer = client.post("/console/signin/token", data={"csrf_token": csrf_token(client), "token": admin_token})
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "hr2bi_console=" in cookie
