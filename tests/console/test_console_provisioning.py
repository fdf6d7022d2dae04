"""The provisioning log: an identity provider's SCIM POST, pushed to a real sandbox BI,
shows in the console and the API with the token that made it, the push's plan run and
its BI call, landed (status, attempts, time); filters by token, operation and time."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.jobs.plan_apply import plan_and_apply
from sync.tokens import create_token
from sync.web import create_app
from tests.console.conftest import csrf_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from bi_world import bi_sandbox, bi_settings, example_rows, import_rows  # noqa: E402,F401

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PUSHED = "pat.pushed@northwind.example"


@pytest.fixture(autouse=True)
def _pushes_finish() -> Iterator[None]:
    """Pushes run on timer threads in the embedded mode: let them end before the next test."""
    yield
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.join(60)


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _log(web: FlaskClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    answer = web.get("/api/v1/provisioning", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["requests"]


def test_a_scim_post_shows_with_its_bi_call(engine: Engine, database_url: str, bi_sandbox: Any,  # noqa: F811
                                            auth: dict[str, str], admin_token: str, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:6])
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=True, push_delay_seconds=0.1)
    plan_and_apply(engine, settings)  # the HR people first: the push then changes one account
    web = create_app(settings, engine).test_client()
    with session_scope(engine) as session:
        viewer = {"Authorization": f"Bearer {create_token(session, 'log-reader', 'viewer')}"}
    user = {"schemas": [USER, ENTERPRISE], "userName": PUSHED, "active": True, "displayName": "Pat Pushed",
            "name": {"givenName": "Pat", "familyName": "Pushed"},
            "emails": [{"primary": True, "value": PUSHED, "type": "work"}], ENTERPRISE: {"department": "Finance"}}
    created = web.post("/scim/v2/Users", json=user, headers=auth)
    assert created.status_code == 201, created.get_json()

    def landed() -> bool:
        found = [r for r in _log(web, viewer) if r["target_name"] == PUSHED]
        return bool(found) and found[0]["landed"] == "done"
    _wait(landed, "the pushed user's BI call to land")

    (entry,) = [r for r in _log(web, viewer, operation="create") if r["target_name"] == PUSHED]
    assert (entry["token"], entry["resource"], entry["operation"]) == ("okta-test", "user", "create")
    assert entry["target_id"] == created.get_json()["id"] and entry["outcome"] == "success"
    assert entry["run"]["mode"] == "scoped" and entry["run"]["status"] in ("succeeded", "applied")
    calls = {c["action"]: c for c in entry["changes"]}
    create_call = calls["bi.user.create"]
    assert create_call["status"] == "done" and create_call["attempts"] >= 0 and create_call["done_at"]
    assert create_call["subject"] == PUSHED and create_call["run"] == entry["run"]["id"]
    assert _log(web, viewer, operation="delete") == []
    assert _log(web, viewer, token="someone-else") == []
    assert _log(web, viewer, until="2020-01-01T00:00:00Z") == []
    assert web.get("/api/v1/provisioning?operation=explode", headers=viewer).status_code == 422

    console = web  # the same app: sign in with the admin token, as the embedded mode does
    console.post("/console/signin/token", data={"csrf_token": csrf_token(console), "token": admin_token})
    page = console.get("/console/provisioning?token=okta-test&operation=")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="requests"' in html
    assert PUSHED in html and "bi.user.create" in html and 'data-testid="landed" class="ok"' in html
    assert "does not record which plan run a SCIM write caused" in html  # the inferred link, said
    bad = console.get("/console/provisioning?since=soon")
    assert bad.status_code == 400 and "Check the filters" in bad.get_data(as_text=True)
