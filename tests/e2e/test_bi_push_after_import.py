"""HR import, apply, then an identity provider pushes the same people (issue 11): the most
common sequence there is. The push must not strip what HR gives them (it once planned
them as SCIM-only people), and the next full plan must find nothing to change.

One person is matched by employee number (Okta, with the enterprise extension), one by
email only (Entra, without an employee number)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    USER, Sandbox, assert_sandbox_matches, bi_sandbox, bi_settings, desired, entra_user, example_rows,
    import_rows, linked_scim_user, okta_user)
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import plan
from sync.web import create_app


@pytest.fixture(autouse=True)
def _pushes_finish() -> Iterator[None]:
    yield
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.join(60)
            assert not thread.is_alive(), "a push was still provisioning after a minute"


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("client", [okta_user, entra_user], ids=["okta-by-number", "entra-by-email"])
def test_an_idp_push_after_an_hr_import_keeps_what_hr_gives(
        client: Callable[[dict[str, str]], dict[str, Any]], engine: Engine, database_url: str,
        bi_sandbox: Sandbox, auth: dict[str, str], tmp_path: Path) -> None:
    rows = example_rows()[:20]
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=True, push_delay_seconds=0.1)
    assert isinstance(plan_and_apply(engine, settings).last, ApplyResult)
    row = rows[1]  # 1001, VP Finance: groups, attributes and roles from HR
    before = desired(engine)[row["Work Email"]]
    assert before.groups and before.attributes, "the example person should get groups and attributes"

    web = create_app(settings, engine).test_client()
    created = web.post("/scim/v2/Users", json=client(row), headers=auth)
    assert created.status_code == 201, created.get_json()
    # Linked in the write's own transaction, not at the next import.
    assert linked_scim_user(engine, row["Employee ID"]) == created.get_json()["id"]
    _wait(lambda: _pushed(bi_sandbox, row["Work Email"]), "the push to be applied")

    after = desired(engine)[row["Work Email"]]
    assert after.groups == before.groups and after.attributes == before.attributes
    assert after.roles == before.roles
    assert_sandbox_matches(engine, bi_sandbox)
    again = plan(engine, settings)
    assert again.status == "empty", again.counts


def _pushed(sandbox: Sandbox, user_name: str) -> bool:
    """The provisioning thread has run: no timer is left waiting."""
    return not any(isinstance(t, threading.Timer) and t.is_alive() for t in threading.enumerate())


def _bi_active(sandbox: Sandbox, user_name: str) -> bool | None:
    found = [u for u in sandbox.state()["users"].values() if u["userName"] == user_name]
    assert len(found) <= 1, f"{user_name} is in the BI {len(found)} times"
    return found[0]["active"] if found else None


def test_a_scim_delete_deactivates_within_seconds_unless_hr_still_wants_the_account(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, auth: dict[str, str], tmp_path: Path) -> None:
    rows = example_rows()[:10]
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=True, push_delay_seconds=0.1)
    assert isinstance(plan_and_apply(engine, settings).last, ApplyResult)
    web = create_app(settings, engine).test_client()
    contractor = {"schemas": [USER], "userName": "idp.only@northwind.example", "active": True,
                  "name": {"givenName": "Idp", "familyName": "Only"}}
    pushed = [web.post("/scim/v2/Users", json=body, headers=auth) for body in (contractor, okta_user(rows[1]))]
    assert [p.status_code for p in pushed] == [201, 201]
    _wait(lambda: _bi_active(bi_sandbox, "idp.only@northwind.example") is True, "the IdP-only user in the BI")
    _wait(lambda: _pushed(bi_sandbox, ""), "the pushes to be applied")

    for created in pushed:
        assert web.delete(f"/scim/v2/Users/{created.get_json()['id']}", headers=auth).status_code == 204
    # The IdP-only user is gone from everywhere: deactivated by the push, within 5 s.
    _wait(lambda: _bi_active(bi_sandbox, "idp.only@northwind.example") is False, "the deactivation", 5.0)
    _wait(lambda: _pushed(bi_sandbox, ""), "the pushes to be applied")
    # HR still employs 1001: his account stays, as the full plan would keep it.
    assert _bi_active(bi_sandbox, rows[1]["Work Email"]) is True
    assert linked_scim_user(engine, rows[1]["Employee ID"]) is None
    assert_sandbox_matches(engine, bi_sandbox, strangers=frozenset({"idp.only@northwind.example"}))
    assert plan(engine, settings).status == "empty"


def _rename(web: Any, user_id: str, name: str, auth: dict[str, str]) -> None:
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "userName", "value": name}]}
    answer = web.patch(f"/scim/v2/Users/{user_id}", json=patch, headers=auth)
    assert answer.status_code == 200, answer.get_json()


def test_a_username_rename_deactivates_the_old_account_within_seconds(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, auth: dict[str, str], tmp_path: Path) -> None:
    rows = example_rows()[:10]
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=True, push_delay_seconds=0.1)
    assert isinstance(plan_and_apply(engine, settings).last, ApplyResult)
    web = create_app(settings, engine).test_client()
    contractor = {"schemas": [USER], "userName": "idp.only@northwind.example", "active": True,
                  "name": {"givenName": "Idp", "familyName": "Only"}}
    pushed = [web.post("/scim/v2/Users", json=body, headers=auth).get_json() for body in (contractor, okta_user(rows[1]))]
    _wait(lambda: _bi_active(bi_sandbox, "idp.only@northwind.example") is True, "the IdP-only user in the BI")
    _wait(lambda: _pushed(bi_sandbox, ""), "the pushes to be applied")
    hr_name = rows[1]["Work Email"]
    assert _bi_active(bi_sandbox, hr_name) is True

    # The IdP renames both: its userName wins (fields.yaml), so each old account must go.
    _rename(web, pushed[0]["id"], "idp.renamed@northwind.example", auth)
    _rename(web, pushed[1]["id"], "renamed.1001@northwind.example", auth)
    _wait(lambda: _bi_active(bi_sandbox, "idp.only@northwind.example") is False, "the old name's deactivation", 5.0)
    _wait(lambda: _bi_active(bi_sandbox, hr_name) is False, "the HR person's old name's deactivation", 5.0)
    _wait(lambda: _pushed(bi_sandbox, ""), "the pushes to be applied")
    assert _bi_active(bi_sandbox, "idp.renamed@northwind.example") is True
    assert _bi_active(bi_sandbox, "renamed.1001@northwind.example") is True
    # Still the same person to HR, with what HR gives him, under the new name.
    assert linked_scim_user(engine, rows[1]["Employee ID"]) == pushed[1]["id"]
    assert desired(engine)["renamed.1001@northwind.example"].groups
    assert_sandbox_matches(engine, bi_sandbox, strangers=frozenset({"idp.only@northwind.example", hr_name}))
    assert plan(engine, settings).status == "empty"
