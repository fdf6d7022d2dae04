"""Issue 14 against the real sandbox server: a rehire whose account comes back as a new,
empty one ends with the full desired state in the same run, and a reconcile against role
answers in the spec's shape or in the shapes Omni's documentation shows finds no drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from bi_world import (
    Sandbox,
    assert_sandbox_matches,
    bi_settings,
    desired,
    example_rows,
    import_rows,
    sandbox_server,
)
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import plan


def test_a_rehire_back_as_a_new_empty_account_has_everything_after_one_run(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    rows = [r for r in example_rows() if r["Worker Status"] == "Active"][:6]
    import_rows(engine, tmp_path, rows)
    with sandbox_server(tmp_path, "--rate-limit", "0") as bi_sandbox:  # re-activation: new-empty
        _leave_and_come_back(engine, database_url, bi_sandbox, tmp_path, rows)


def _leave_and_come_back(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path,
                         rows: list[dict[str, str]]) -> None:
    settings = bi_settings(database_url, bi_sandbox)
    assert plan_and_apply(engine, settings).last.failed == 0
    email = rows[0]["Work Email"].lower()
    leaver = [dict(r, **({"Worker Status": "Terminated"} if i == 0 else {})) for i, r in enumerate(rows)]
    import_rows(engine, tmp_path, leaver)
    assert plan_and_apply(engine, settings).last.failed == 0
    before = next(u for u in bi_sandbox.state()["users"].values() if u["userName"].lower() == email)
    assert before["active"] is False
    wanted = desired(engine)
    import_rows(engine, tmp_path, rows)  # rehired: the sandbox re-activates as a new, empty account

    result = plan_and_apply(engine, settings).last

    assert isinstance(result, ApplyResult) and result.failed == 0, result
    state = bi_sandbox.state()
    after = next(u for u in state["users"].values() if u["userName"].lower() == email)
    assert after["id"] != before["id"] and after["active"] is True
    rehired = desired(engine)[email]
    assert rehired.groups and rehired.attributes  # the account had something to lose
    assert wanted[email].active is False
    assert_sandbox_matches(engine, bi_sandbox)  # groups, attributes and roles, in this run
    assert plan(engine, settings, reconcile=True).status == "empty"


@pytest.mark.parametrize("shape", ["spec", "docs"])
def test_a_reconcile_finds_no_drift_whatever_shape_omni_answers_roles_in(
        engine: Engine, database_url: str, tmp_path: Path, shape: str) -> None:
    import_rows(engine, tmp_path, example_rows()[:60])
    with sandbox_server(tmp_path, "--rate-limit", "0", "--role-answers", shape) as sandbox:
        settings = bi_settings(database_url, sandbox)
        assert plan_and_apply(engine, settings).last.failed == 0
        state = sandbox.state()
        held = {role for roles in [*state["user_roles"].values(), *state["group_roles"].values()]
                for role in roles.values()}
        assert "RESTRICTED_QUERIER" in held  # answered as QUERY_TOPICS in the docs shape
        assert any(state["user_roles"].values())  # direct roles are read back too
        assert state["group_roles"]

        found = plan(engine, settings, reconcile=True)

        assert found.status == "empty", found.counts
        assert_sandbox_matches(engine, sandbox)
