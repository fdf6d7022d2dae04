"""HR people linked to identity-provider users: by employee number, else by email."""

from __future__ import annotations

from pathlib import Path

from hr_export import events, person, run_import, stored

from scim.store import UserStore
from sync.db import session_scope
from sync.plan.desired import Scope, desired_users
from sync.rules import load_dir

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def scim_user(engine, user_name: str, number: str | None = None, **extra) -> str:
    body = {"schemas": [CORE, ENTERPRISE], "userName": user_name, **extra}
    if number is not None:
        body[ENTERPRISE] = {"employeeNumber": number}
    with session_scope(engine) as session:
        return UserStore(session, "/scim/v2").create(body, "okta-test")["id"]


def test_linked_by_employee_number_and_merged_by_precedence(engine, tmp_path):
    user_id = scim_user(engine, "ana.login@northwind.example", "1000", title="IdP Title")
    run = run_import(engine, tmp_path, [person("1000", Job_Title="HR Title")])
    assert run.counts["linked"] == 1
    ana = stored(engine, "1000")
    assert ana.scim_user_id == user_id
    assert ana.link_reason == "employee number 1000 matches SCIM user ana.login@northwind.example"
    # The store keeps what HR says; the IdP's values are merged when the person is read.
    assert ana.fields["user_name"] == "p1000@northwind.example"
    assert ana.field_sources["user_name"] == "hr" and ana.field_sources["title"] == "hr"
    with session_scope(engine) as session:
        (wanted,), _ = desired_users(session, load_dir(MAPPINGS), Scope())
    assert wanted.user_name == "ana.login@northwind.example"  # prefer: idp
    assert wanted.why  # evaluated as the merged person, not as a SCIM-only user


def test_linked_by_email_when_the_idp_has_no_employee_number(engine, tmp_path):
    user_id = scim_user(engine, "someone@northwind.example",
                        emails=[{"value": "P1000@northwind.example", "primary": True}])
    run_import(engine, tmp_path, [person("1000")])
    ana = stored(engine, "1000")
    assert ana.scim_user_id == user_id and ana.link_reason.startswith("email p1000@northwind.example matches")


def test_a_user_with_another_employee_number_is_not_linked_by_email(engine, tmp_path):
    scim_user(engine, "p1000@northwind.example", "9999")
    run_import(engine, tmp_path, [person("1000")])
    assert stored(engine, "1000").scim_user_id is None


def test_ambiguous_matches_link_nobody_and_say_why(engine, tmp_path):
    scim_user(engine, "a@northwind.example", "1000")
    scim_user(engine, "b@northwind.example", "1000")
    run = run_import(engine, tmp_path, [person("1000")])
    assert stored(engine, "1000").scim_user_id is None
    assert any("all have employee number 1000" in p for p in run.details["problems"])


def test_a_user_pushed_after_the_import_links_on_the_next_one(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000")])
    scim_user(engine, "ana@northwind.example", "1000")
    run = run_import(engine, tmp_path, [person("1000")])
    # HR's view did not change (the IdP's values are merged at read time, not stored).
    assert run.counts["linked"] == 1 and run.counts.get("changed", 0) == 0
    assert events(engine, "1000")[-1][0] == "linked"
    again = run_import(engine, tmp_path, [person("1000")])
    assert again.counts["unchanged"] == 1 and again.counts.get("linked", 0) == 0
