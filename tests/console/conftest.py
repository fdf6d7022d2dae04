"""Console fixtures: a real local OpenID provider (oidc-provider-mock, on a thread) with a
viewer, an approver, an admin and someone in no console group, and ways to sign in to a
test client exactly as a browser would (through the provider), or with an admin token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider_mock import User, run_server_in_thread
from sqlalchemy.engine import Engine

from sync.config import Settings, load_settings
from sync.db import session_scope
from sync.tokens import create_token
from sync.web import create_app

PEOPLE = {
    "viewer@example.com": ["hr2bi-viewers"],
    "approver@example.com": ["hr2bi-approvers", "everyone"],
    "admin@example.com": ["hr2bi-admins"],
    "outsider@example.com": ["everyone"],
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    users = [User(sub=email, claims={"email": email, "groups": groups}) for email, groups in PEOPLE.items()]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


def console_settings(database_url: str, **overrides: object) -> Settings:
    return load_settings(database_url=database_url, migrate_on_start=False, **overrides)


@pytest.fixture
def oidc_settings(database_url: str, oidc_issuer: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HR2BI_CONSOLE_OIDC_CLIENT_SECRET", "console-client-secret")
    return console_settings(
        database_url, console_oidc_issuer=oidc_issuer, console_oidc_client_id="hr2bi-console",
        console_viewer_groups=["hr2bi-viewers"], console_approver_groups=["hr2bi-approvers"],
        console_admin_groups=["hr2bi-admins"])


@pytest.fixture
def oidc_app(oidc_settings: Settings, engine: Engine) -> Flask:
    return create_app(oidc_settings, engine)


def csrf_token(client: FlaskClient, path: str = "/console/signin") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in_oidc(client: FlaskClient, email: str) -> httpx.Response | object:
    """The browser's journey: the console sends us to the provider, we pick the person
    there, the provider sends us back with a code, the console redeems it."""
    start = client.get("/console/signin/oidc")
    assert start.status_code == 302, start.get_data(as_text=True)
    authorize = start.headers["Location"]
    answer = httpx.post(authorize, data={"sub": email}, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def signed_in(oidc_app: Flask) -> Callable[[str], FlaskClient]:
    """A test client signed in through the provider as one of PEOPLE."""
    def sign_in(email: str) -> FlaskClient:
        client = oidc_app.test_client()
        done = sign_in_oidc(client, email)
        assert done.status_code == 302 and done.headers["Location"].startswith("/console"), done
        return client
    return sign_in


@pytest.fixture
def admin_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        return create_token(session, "console-admin", "admin")
