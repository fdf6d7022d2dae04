"""Issue 6, acceptance 1-3: the example HR export through plan and apply into a real
sandbox server, then movers, leavers, rehires and a feed that would deactivate a third."""

from __future__ import annotations

from pathlib import Path

from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, Sandbox, assert_sandbox_matches, bi_settings, example_rows, import_rows)
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult, apply
from sync.jobs.approve import approve_plan
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import PlanResult, plan


def _first_run(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> list[dict[str, str]]:
    rows = example_rows()
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox)
    result = plan_and_apply(engine, settings).last
    assert isinstance(result, ApplyResult)
    assert (result.failed, result.quarantined) == (0, 0)
    return rows


def test_example_export_reaches_the_sandbox_exactly_and_a_second_plan_costs_nothing(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    _first_run(engine, database_url, bi_sandbox, tmp_path)
    assert_sandbox_matches(engine, bi_sandbox)
    state = bi_sandbox.state()
    assert len(state["users"]) > 200 and len(state["groups"]) > 10
    calls = len(bi_sandbox.calls())

    again = plan_and_apply(engine, bi_settings(database_url, bi_sandbox)).last

    assert isinstance(again, PlanResult) and again.status == "empty"
    assert again.counts["total"] == 0
    assert len(bi_sandbox.calls()) == calls  # zero BI calls


def test_first_apply_costs_one_call_per_user_plus_group_batches_and_roles(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows())
    settings = bi_settings(database_url, bi_sandbox)
    planned = plan(engine, settings)
    result = apply(engine, settings, planned.run_id)
    writes = [c for c in bi_sandbox.calls() if not c.startswith("GET")]
    counts = planned.counts
    assert len(writes) == counts["total"] == result.applied
    assert sum(c.startswith("POST /api/scim/v2/Users ") for c in writes) == counts["creates"]
    assert sum(c.startswith("POST /api/scim/v2/Groups ") for c in writes) == counts["group_creates"]


def _change(rows: list[dict[str, str]], employee_id: str, **values: str) -> list[dict[str, str]]:
    changed = [dict(r) for r in rows]
    for row in changed:
        if row["Employee ID"] == employee_id:
            row.update({k.replace("_", " "): v for k, v in values.items()})
    return changed


def test_a_mover_costs_one_user_patch_and_one_membership_change_per_group(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = _first_run(engine, database_url, bi_sandbox, tmp_path)
    mover = next(r for r in rows if r["Department"] == "Marketing" and r["Job Title"] == "Marketing Manager"
                 and r["Worker Status"] == "Active") if any(
        r["Job Title"] == "Marketing Manager" for r in rows) else next(
        r for r in rows if r["Department"] == "Marketing" and r["Worker Status"] == "Active")
    before = len(bi_sandbox.calls())
    import_rows(engine, tmp_path, _change(rows, mover["Employee ID"], Department="Operations"))

    result = plan_and_apply(engine, bi_settings(database_url, bi_sandbox)).last

    calls = bi_sandbox.calls()[before:]
    user_patches = [c for c in calls if c.startswith("PATCH /api/scim/v2/Users/")]
    group_patches = [c for c in calls if c.startswith("PATCH /api/scim/v2/Groups/")]
    assert len(user_patches) == 1  # the department attribute
    assert len(group_patches) == 2  # out of Marketing, into Operations
    assert isinstance(result, ApplyResult) and result.applied == len(
        [c for c in calls if not c.startswith("GET")])
    assert_sandbox_matches(engine, bi_sandbox)


def test_a_leaver_is_one_deactivation_and_a_rehire_the_same_user_reactivated(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = _first_run(engine, database_url, bi_sandbox, tmp_path)
    leaver = next(r for r in rows if r["Worker Status"] == "Active" and r["Department"] == "Finance")
    user_name = leaver["Work Email"].lower()
    bi_id = next(u["id"] for u in bi_sandbox.state()["users"].values() if u["userName"] == user_name)
    before = len(bi_sandbox.calls())
    import_rows(engine, tmp_path, _change(rows, leaver["Employee ID"], Worker_Status="Terminated"))

    plan_and_apply(engine, bi_settings(database_url, bi_sandbox))

    calls = [c for c in bi_sandbox.calls()[before:] if not c.startswith("GET")]
    assert calls == [f"PATCH /api/scim/v2/Users/{bi_id} 200"]
    assert bi_sandbox.state()["users"][bi_id]["active"] is False
    assert_sandbox_matches(engine, bi_sandbox)

    before = len(bi_sandbox.calls())
    import_rows(engine, tmp_path, rows)  # rehired: the same employee id is back, active
    plan_and_apply(engine, bi_settings(database_url, bi_sandbox))

    calls = [c for c in bi_sandbox.calls()[before:] if not c.startswith("GET")]
    assert calls == [f"PATCH /api/scim/v2/Users/{bi_id} 200"]
    users = [u for u in bi_sandbox.state()["users"].values() if u["userName"] == user_name]
    assert [(u["id"], u["active"]) for u in users] == [(bi_id, True)]
    assert_sandbox_matches(engine, bi_sandbox)


def test_a_feed_that_would_deactivate_a_third_is_held_until_approved(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = _first_run(engine, database_url, bi_sandbox, tmp_path)
    kept = rows[: 2 * len(rows) // 3]
    # Absent from two full feeds in a row makes a leaver; the first truncated feed is held by
    # the import's own shrink guard, so the import is told to accept any shrink.
    import_rows(engine, tmp_path, kept, max_shrink=1.0)
    import_rows(engine, tmp_path, kept, max_shrink=1.0)
    settings = bi_settings(database_url, bi_sandbox)
    state_before = bi_sandbox.state()
    before = len(bi_sandbox.calls())

    held = plan(engine, settings)
    applied = apply(engine, settings, held.run_id)

    assert held.status == "held" and held.counts["deactivations"] > 60
    assert "hr2bi runs approve" in (held.reason or "")
    assert applied.held and applied.applied == 0
    assert bi_sandbox.calls()[before:] == [] and bi_sandbox.state() == state_before

    result = approve_plan(engine, settings, held.run_id, "ciso@example.com")

    assert result.applied == held.counts["total"] and not result.held
    assert_sandbox_matches(engine, bi_sandbox)
    from sync.db import session_scope
    from sync.runs import get_run
    with session_scope(engine) as session:
        run = get_run(session, held.run_id)
        assert (run.status, run.approved_by) == ("approved", "ciso@example.com")
