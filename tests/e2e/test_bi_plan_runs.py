"""Plan runs as `hr2bi runs` shows them: an older plan whose unfinished changes a newer plan
took over ends ``superseded`` (naming the newer run) instead of ``planned`` forever, and
applying it afterwards sends nothing stale; `runs list` filters on plan statuses and
summarises a plan's changes by kind and what became of them."""

from __future__ import annotations

import json
from pathlib import Path

from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, KEY, MAPPINGS, Sandbox, assert_sandbox_matches, bi_settings, example_rows, import_rows)
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from sync.apply.service import apply
from sync.plan.service import plan
from sync.cli import main
from sync.db import session_scope
from sync.runs import get_run
from sync.statuses import RunStatus


def _people(rows: list[dict[str, str]], leaver: str) -> list[dict[str, str]]:
    return [dict(r, **({"Worker Status": "Terminated"} if r["Employee ID"] == leaver else {})) for r in rows]


def test_a_plan_left_unapplied_is_superseded_by_the_next_and_sends_nothing_stale(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = [r for r in example_rows() if r["Worker Status"] == "Active"][:6]
    import_rows(engine, tmp_path, rows)
    settings = bi_settings(database_url, bi_sandbox)
    old = plan(engine, settings)  # its apply was killed before it sent anything
    import_rows(engine, tmp_path, _people(rows, rows[0]["Employee ID"]))  # one never starts after all

    new = plan(engine, settings)
    late = apply(engine, settings, old.run_id)  # someone applies the old plan after all

    assert (late.applied, late.bi_calls) == (0, 0) and f"run {new.run_id}" in (late.superseded or "")
    with session_scope(engine) as session:
        run = get_run(session, old.run_id)
        assert run.status == "superseded" and f"superseded by run {new.run_id}" in (run.reason or "")
        assert run.counts["outbox"] == {"superseded": old.counts["total"]}
    assert bi_sandbox.state()["users"] == {}
    applied = apply(engine, settings, new.run_id)
    assert applied.applied == new.counts["total"]
    never_started = rows[0]["Work Email"].lower()
    assert never_started not in {u["userName"] for u in bi_sandbox.state()["users"].values()}
    assert_sandbox_matches(engine, bi_sandbox)


def test_runs_list_filters_plan_statuses_and_summarises_plans(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:8])
    settings = bi_settings(database_url, bi_sandbox)
    first = plan(engine, settings)
    second = plan(engine, settings)
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(MAPPINGS),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")}
    (tmp_path / "hr2bi.toml").write_text("")

    def hr2bi(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert {"planned", "superseded"} <= set(RunStatus)
    planned = json.loads(hr2bi("runs", "list", "--status", "planned", "--json"))
    assert [r["id"] for r in planned] == [second.run_id]
    superseded = json.loads(hr2bi("runs", "list", "--status", "superseded", "--kind", "plan", "--json"))
    assert [r["id"] for r in superseded] == [first.run_id]
    apply(engine, settings, second.run_id)

    lines = {int(line.split()[0]): line for line in hr2bi("runs", "list").splitlines()[1:]}
    creates = second.counts["creates"]
    assert f"create {creates}" in lines[second.run_id]
    assert f"applied {second.counts['total']}" in lines[second.run_id]
    assert f"superseded {first.counts['total']}" in lines[first.run_id]


def test_plan_detailed_exitcode_says_whether_there_are_changes(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    """0 for nothing to change, 2 for changes, 1 for an error, as Terraform's plan does."""
    (tmp_path / "hr2bi.toml").write_text("")
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(MAPPINGS),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml"),
           "HR2BI_BI_BASE_URL": bi_sandbox.url, "HR2BI_BI_API_KEYS": KEY}

    def plan_exit(*extra: str) -> int:
        return CliRunner().invoke(main, ["plan", "--detailed-exitcode", *extra], env=env).exit_code

    assert plan_exit() == 0  # nobody imported yet: nothing to change
    import_rows(engine, tmp_path, example_rows()[:4])
    assert plan_exit() == 2
    assert CliRunner().invoke(main, ["plan"], env=env).exit_code == 0  # without the flag: 0
    apply(engine, settings=bi_settings(database_url, bi_sandbox),
                   run_id=plan(engine, bi_settings(database_url, bi_sandbox)).run_id)
    assert plan_exit() == 0
    assert plan_exit("--json") == 0
    assert CliRunner().invoke(main, ["plan", "--detailed-exitcode"],
                              env={**env, "HR2BI_MAPPINGS_DIR": str(tmp_path / "missing")}).exit_code == 1
