"""Issue 6: ``reconcile`` reads the sandbox's actual state and plans away drift made by
hand in the BI platform: an unknown user is deactivated, a changed attribute set back, a
membership someone removed put back."""

from __future__ import annotations

from pathlib import Path

import httpx
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, KEY, Sandbox, assert_sandbox_matches, bi_settings, example_rows, import_rows)
from sqlalchemy.engine import Engine

from sync.apply.service import apply
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import plan

ATTRIBUTES = "urn:omni:params:1.0:UserAttribute"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_reconcile_plans_away_drift_made_by_hand(engine: Engine, database_url: str, bi_sandbox: Sandbox,
                                                 tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:40])
    settings = bi_settings(database_url, bi_sandbox)
    plan_and_apply(engine, settings)
    state = bi_sandbox.state()
    victim = next(u for u in state["users"].values() if u["active"] and "department" in u["attributes"])
    group = next(g for g in state["groups"].values() if victim["id"] in g["members"])
    with httpx.Client(base_url=bi_sandbox.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        http.post("/api/scim/v2/Users", json={"userName": "by.hand@example.com", "displayName": "By Hand"}
                  ).raise_for_status()
        http.patch(f"/api/scim/v2/Users/{victim['id']}", json={"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {ATTRIBUTES: {"department": "Hacked"}}}]}).raise_for_status()
        http.patch(f"/api/scim/v2/Groups/{group['id']}", json={"schemas": [PATCH], "Operations": [
            {"op": "remove", "path": f'members[value eq "{victim["id"]}"]', "value": None}]}).raise_for_status()
    assert plan(engine, settings).status == "empty"  # the store alone cannot see drift

    found = plan(engine, settings, reconcile=True)

    assert found.status == "planned"
    assert (found.counts["deactivations"], found.counts["updates"], found.counts["membership_changes"]) == (1, 1, 1)
    apply(engine, settings, found.run_id)
    users = {u["userName"]: u for u in bi_sandbox.state()["users"].values()}
    assert users[victim["userName"]]["attributes"]["department"] == victim["attributes"]["department"]
    assert_sandbox_matches(engine, bi_sandbox, strangers=frozenset({"by.hand@example.com"}))
    assert plan(engine, settings, reconcile=True).status == "empty"
