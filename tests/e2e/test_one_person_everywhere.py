"""One person, one answer (issue 11): ``mappings explain``, ``mappings impact``, ``people
show`` and ``provision --dry-run`` give the same account for the same person, whether HR,
the identity provider or both know them; ``people list`` shows the IdP-only ones, marked;
``provision`` applies one person now and lists each BI call.

It once differed: ``explain 1001`` found nobody while ``people show 1001`` did, ``impact``
counted only SCIM users, and IdP-only people were invisible to ``people``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    KEY,
    MAPPINGS,
    Sandbox,
    assert_sandbox_matches,
    bi_sandbox,
    bi_settings,
    example_rows,
    import_rows,
)
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.cli import main
from sync.jobs.plan_apply import plan_and_apply
from sync.web import create_app

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTRACTOR = "pat.contractor@northwind.example"


@pytest.fixture
def world(engine: Engine, database_url: str, bi_sandbox: Sandbox, auth: dict[str, str],  # noqa: F811
          tmp_path: Path) -> dict[str, Any]:
    """20 HR people applied; then 1001 pushed by an Okta-style client (employee number),
    1002 by an Entra-style one (email only), and a contractor only the IdP knows."""
    rows = example_rows()[:20]
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox, provision_on_push=False)
    assert isinstance(plan_and_apply(engine, settings).last, ApplyResult)
    okta, entra = rows[1], rows[2]
    web = create_app(settings, engine).test_client()
    bodies = [
        {"schemas": [USER, ENTERPRISE], "userName": okta["Work Email"], "active": True,
         "name": {"givenName": okta["Legal First Name"], "familyName": okta["Last Name"]},
         ENTERPRISE: {"employeeNumber": okta["Employee ID"], "department": "Data"}},
        {"schemas": [USER], "userName": entra["Work Email"], "active": True, "externalId": "entra-1",
         "emails": [{"value": entra["Work Email"], "type": "work", "primary": True}]},
        {"schemas": [USER], "userName": CONTRACTOR, "active": True,
         "name": {"givenName": "Pat", "familyName": "Contractor"}, "title": "Contract Analyst"},
    ]
    ids = []
    for body in bodies:
        created = web.post("/scim/v2/Users", json=body, headers=auth)
        assert created.status_code == 201, created.get_json()
        ids.append(created.get_json()["id"])
    env = {"DATABASE_URL": database_url, "HR2BI_BI_BASE_URL": bi_sandbox.url, "HR2BI_BI_API_KEYS": KEY,
           "HR2BI_MAPPINGS_DIR": str(MAPPINGS), "HR2BI_MIGRATE_ON_START": "false"}
    return {"rows": rows, "ids": ids, "env": env, "web": web, "settings": settings, "auth": auth}


def cli(world: dict[str, Any], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(main, list(args), env=world["env"], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.output


def accounts(world: dict[str, Any], key: str) -> list[dict[str, Any]]:
    explained = cli(world, "mappings", "explain", key, "--json")["account"]
    shown = cli(world, "people", "show", key, "--json")["account"]
    dry = cli(world, "provision", key, "--dry-run", "--json")
    assert [p["account"] for p in dry["people"]] == [explained], dry["people"]
    return [explained, shown]


@pytest.mark.parametrize("who", ["hr and okta", "hr and entra", "hr only", "idp only"])
def test_explain_people_show_and_provision_give_one_account(world: dict[str, Any], who: str) -> None:
    rows, ids = world["rows"], world["ids"]
    keys = {"hr and okta": [rows[1]["Employee ID"], rows[1]["Work Email"], ids[0]],
            "hr and entra": [rows[2]["Employee ID"], rows[2]["Work Email"], ids[1]],
            "hr only": [rows[3]["Employee ID"], rows[3]["Work Email"]],
            "idp only": [CONTRACTOR, ids[2]]}[who]
    found = [account for key in keys for account in accounts(world, key)]
    assert all(a == found[0] for a in found), found
    if who == "hr and okta":  # HR's department wins (fields.yaml: prefer hr), HR's groups stay
        assert found[0]["attributes"]["department"] == "Finance" and "Finance" in found[0]["groups"]
    shown = cli(world, "people", "show", keys[0], "--json")
    assert shown["idp_only"] is (who == "idp only")
    assert (shown["scim_user"] is None) is (who == "hr only")


def test_impact_counts_everyone_and_agrees_with_explain(world: dict[str, Any], tmp_path: Path) -> None:
    proposed = tmp_path / "proposed"
    shutil.copytree(MAPPINGS, proposed)
    groups = proposed / "groups.csv"
    groups.write_text(groups.read_text(encoding="utf-8").replace("*,All Staff\n", ""), encoding="utf-8")
    text = cli(world, "mappings", "impact", "--against", str(MAPPINGS), "--dir", str(proposed))
    assert " of 21 people change" in text  # 20 HR people (two also in the IdP) and the contractor
    found = cli(world, "mappings", "impact", "--against", str(MAPPINGS), "--dir", str(proposed), "--json")
    losing = {item["person"].split(" (")[-1].rstrip(")") for item in found["people"]
              if any(c["kind"] == "group" and c["name"] == "All Staff" and c["after"] is None
                     for c in item["changes"])}
    for key in (world["rows"][1]["Employee ID"], world["rows"][2]["Employee ID"], CONTRACTOR):
        account = cli(world, "mappings", "explain", key, "--json")["account"]
        assert ("All Staff" in account["groups"]) is (account["user_name"] in losing), (key, account)


def test_people_list_marks_the_idp_only(world: dict[str, Any]) -> None:
    listed = cli(world, "people", "list", "--json")
    idp = [p for p in listed if p["idp_only"]]
    assert [p["user_name"] for p in idp] == [CONTRACTOR]
    assert len(listed) == 21 and sum(p["linked"] for p in listed) == 2
    assert "idp-only" in cli(world, "people", "list")
    assert [p["user_name"] for p in cli(world, "people", "list", "--status", "active", "--json")
            if p["idp_only"]] == [CONTRACTOR]


def test_provision_applies_one_person_now_and_lists_each_call(world: dict[str, Any],
                                                              bi_sandbox: Sandbox, engine: Engine) -> None:  # noqa: F811
    user_id = world["ids"][1]  # the Entra-style user joins an IdP group; nothing pushes it
    joined = world["web"].post("/scim/v2/Groups", headers=world["auth"], json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "BI Admins",
        "members": [{"value": user_id}]})
    assert joined.status_code == 201, joined.get_json()
    dry = cli(world, "provision", user_id, "--dry-run", "--json")
    assert dry["outcome"] == "would change" and dry["calls"] == [] and dry["run"] is None
    assert [s["from"] for s in dry["sources"]] == ["hr", "idp"]
    assert {"value": ["BI Admins"], "from": "idp"} in dry["people"][0]["fields"].values()
    done = cli(world, "provision", user_id, "--json")
    assert done["outcome"] == "applied", done
    assert {(c["kind"], c["status"]) for c in done["changes"]} == {(c["kind"], "done") for c in dry["changes"]}
    assert done["calls"] and all(200 <= c["status"] < 300 for c in done["calls"]), done["calls"]
    assert all(c["path"].startswith("/api/") for c in done["calls"])
    text = cli(world, "provision", user_id)
    assert "1. sources read" in text and "result: no changes" in text
    state = bi_sandbox.state()
    user = next(u for u in state["users"].values() if u["userName"] == world["rows"][2]["Work Email"])
    assert any(g["displayName"] == "BI Admins" and user["id"] in g["members"] for g in state["groups"].values())
    # Only the contractor is left for the next plan (nobody pushed them): their account and
    # their group memberships.
    left = cli(world, "plan", "--json")["changes"]
    assert {c["subject"] for c in left if c["kind"].startswith("user.")} == {CONTRACTOR}, left


def test_provision_of_nobody_is_a_clear_error(world: dict[str, Any]) -> None:
    text = cli(world, "provision", "nobody@nowhere.example", code=1)
    assert "nobody has the employee id, email, userName or SCIM id 'nobody@nowhere.example'" in text

