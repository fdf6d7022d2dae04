"""Issue 14, acceptance 2: accounts made by hand in the BI platform (an admin, a service
account, an unrelated user) are not hr2bi's. ``reconcile --apply`` deactivates none of
them by default and lists them as unmanaged; opted in (``manage_unmatched =
"deactivate"``) it deactivates the unrelated user, and never a protected account."""

from __future__ import annotations

from pathlib import Path

import httpx
from bi_world import KEY, bi_settings, example_rows, import_rows, sandbox_server
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.apply.service import apply
from sync.cli import main
from sync.db import session_scope
from sync.models import BiUserState
from sync.plan.service import plan

BY_HAND = {"admin@northwind.example": "Org Admin", "svc-bi@northwind.example": "BI Service",
           "someone.else@elsewhere.example": "Someone Else"}


def _active(state: dict) -> dict[str, bool]:
    return {u["userName"]: u["active"] for u in state["users"].values()}


def test_reconcile_leaves_accounts_it_does_not_own_alone_unless_told(
        engine: Engine, database_url: str, tmp_path: Path, monkeypatch) -> None:
    import_rows(engine, tmp_path, example_rows()[:20])
    with sandbox_server(tmp_path, "--rate-limit", "0") as sandbox:
        settings = bi_settings(database_url, sandbox)
        first = plan(engine, settings)
        assert first.counts.get("adopted") is None and first.counts["creates"] > 0
        apply(engine, settings, first.run_id)
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            for user_name, display_name in BY_HAND.items():
                http.post("/api/scim/v2/Users", json={"userName": user_name, "displayName": display_name}
                          ).raise_for_status()
        for name, value in {"DATABASE_URL": database_url, "HR2BI_MIGRATE_ON_START": "false",
                            "HR2BI_BI_BASE_URL": sandbox.url, "HR2BI_BI_API_KEYS": KEY,
                            "HR2BI_BI_RATE_PER_KEY": "60000", "HR2BI_MAPPINGS_DIR": str(settings.mappings_dir)
                            }.items():
            monkeypatch.setenv(name, value)

        default = CliRunner().invoke(main, ["reconcile", "--apply"])

        assert default.exit_code == 0, default.output
        assert "unmanaged: 3 active BI accounts" in default.output
        assert all(name in default.output for name in BY_HAND)
        assert all(_active(sandbox.state())[name] for name in BY_HAND)
        with session_scope(engine) as session:
            rows = {r.user_name: r.ownership for r in session.scalars(select(BiUserState))}
        assert {rows[name] for name in BY_HAND} == {None}
        assert {v for k, v in rows.items() if k not in BY_HAND} == {"created"}

        monkeypatch.setenv("HR2BI_MANAGE_UNMATCHED", "deactivate")
        monkeypatch.setenv("HR2BI_PROTECTED", "admin@*, svc-*@northwind.example")
        opted = CliRunner().invoke(main, ["reconcile", "--apply"])

        assert opted.exit_code == 0, opted.output
        assert "unmanaged: 2 active BI accounts" in opted.output and "2 of them protected" in opted.output
        active = _active(sandbox.state())
        assert (active["someone.else@elsewhere.example"], active["admin@northwind.example"],
                active["svc-bi@northwind.example"]) == (False, True, True)
        assert sum(1 for v in active.values() if not v) == 1  # nobody else was touched


def test_an_account_matched_to_a_person_is_adopted_and_counted_in_the_first_plan(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    rows = example_rows()[:5]
    import_rows(engine, tmp_path, rows)
    email = next(r["Work Email"] for r in rows if r["Worker Status"] == "Active")
    with sandbox_server(tmp_path, "--rate-limit", "0") as sandbox:
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            http.post("/api/scim/v2/Users", json={"userName": email, "displayName": "Made By Hand"}
                      ).raise_for_status()
        settings = bi_settings(database_url, sandbox)

        first = plan(engine, settings, reconcile=True)

        assert first.counts["adopted"] == 1 and "unmanaged" not in first.counts
        with session_scope(engine) as session:
            row = session.scalars(select(BiUserState).where(BiUserState.user_name == email)).one()
            assert row.ownership == "adopted"
        apply(engine, settings, first.run_id)
        assert "adopted" not in plan(engine, settings, reconcile=True).counts
