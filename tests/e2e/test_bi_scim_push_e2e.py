"""An identity provider's push reaches the BI platform (issue 7, acceptance 3): a user
created and then deactivated through the SCIM endpoint, the way Okta and Entra send it,
shows up in the sandbox BI and is then deactivated there, with no sync in between.

The embedded mode (no broker) runs the provisioning task in-process; tests/tasks runs the
same push through a real worker and broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, Sandbox, bi_settings, example_rows, import_rows)
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import plan_and_apply
from sync.web import create_app

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def okta(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # Okta: enterprise extension when the profile maps it; deactivation as a path-less PATCH.
    create = {"schemas": [USER, ENTERPRISE], "userName": f"{name}@northwind.example", "active": True,
              "name": {"givenName": "Pat", "familyName": "Okta"}, "displayName": "Pat Okta",
              "emails": [{"primary": True, "value": f"{name}@northwind.example", "type": "work"}],
              ENTERPRISE: {"department": "Finance"}}
    return create, {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}


def entra(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # Entra: externalId, formatted name; deactivation with a capitalised op and a string boolean.
    create = {"schemas": [USER, ENTERPRISE], "externalId": name, "userName": f"{name}@northwind.example",
              "active": True, "displayName": "Sam Entra",
              "name": {"formatted": "Sam Entra", "givenName": "Sam", "familyName": "Entra"},
              "emails": [{"primary": True, "type": "work", "value": f"{name}@northwind.example"}],
              ENTERPRISE: {"department": "Finance"}}
    return create, {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


@pytest.fixture(autouse=True)
def _pushes_finish() -> Iterator[None]:
    """The embedded mode provisions on timer threads that outlive the request: wait for
    them, so no push is still writing when the next test empties the database."""
    yield
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.join(60)
            assert not thread.is_alive(), "a push was still provisioning after a minute"


def _bi_user(sandbox: Sandbox, user_name: str) -> dict[str, Any] | None:
    found = [u for u in sandbox.state()["users"].values() if u["userName"] == user_name]
    assert len(found) <= 1, f"{user_name} is in the BI {len(found)} times"
    return found[0] if found else None


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("client", [okta, entra], ids=["okta", "entra"])
def test_a_pushed_user_is_created_then_deactivated_in_the_bi(
        client: Callable[[str], tuple[dict[str, Any], dict[str, Any]]], engine: Engine,
        database_url: str, bi_sandbox: Sandbox, auth: dict[str, str], tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:12])
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=True, push_delay_seconds=0.1)
    assert isinstance(plan_and_apply(engine, settings).last, ApplyResult)
    web = create_app(settings, engine).test_client()
    name = f"{client.__name__}.pushed"
    user_name = f"{name}@northwind.example"
    create, deactivate = client(name)

    created = web.post("/scim/v2/Users", json=create, headers=auth)
    assert created.status_code == 201, created.get_json()
    _wait(lambda: _bi_user(bi_sandbox, user_name) is not None, "the pushed user to reach the BI")
    assert _bi_user(bi_sandbox, user_name)["active"] is True

    patched = web.patch(f"/scim/v2/Users/{created.get_json()['id']}", json=deactivate, headers=auth)
    assert patched.status_code == 200, patched.get_json()
    _wait(lambda: _bi_user(bi_sandbox, user_name)["active"] is False, "the BI user to be deactivated")
