"""What a plan and its apply leave in the audit log (issue 5, acceptance 3): the settings
and tables it ran under, recorded once when they change, then one event per applied change
with its actor, the person's mapping rows and the tables version."""

from __future__ import annotations

import shutil
from pathlib import Path

from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    MAPPINGS, bi_sandbox, Sandbox, bi_settings, example_rows, import_rows)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import plan
from sync.db import session_scope
from sync.models import AuditEvent


def _events(engine: Engine, *actions: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions))
                                    .order_by(AuditEvent.seq)))


def test_settings_and_tables_are_recorded_when_a_plan_first_uses_them(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:5])
    settings = bi_settings(database_url, bi_sandbox)

    first = plan(engine, settings)
    plan(engine, settings)
    assert [(e.action, e.run_id) for e in _events(engine, "config.change", "tables.change")] == [
        ("config.change", first.run_id), ("tables.change", first.run_id)]

    changed = plan(engine, bi_settings(database_url, bi_sandbox, guard_min_changes=3))
    config = _events(engine, "config.change")
    assert len(config) == 2 and config[1].run_id == changed.run_id
    assert "guard_min_changes" in str(config[1].after)
    assert all("sandbox-key" not in str(e.after) + str(e.before) for e in config)  # no secret

    tables = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, tables)
    with (tables / "groups.csv").open("a", encoding="utf-8") as handle:
        handle.write('department eq "Nowhere",Nobody\n')
    moved = plan(engine, bi_settings(database_url, bi_sandbox, guard_min_changes=3,
                                              mappings_dir=tables))
    versions = _events(engine, "tables.change")
    assert [e.run_id for e in versions] == [first.run_id, moved.run_id]
    assert versions[1].before["tables_version"] == versions[0].after["tables_version"]
    assert versions[1].after["tables_version"] != versions[0].after["tables_version"]


def test_each_applied_change_is_one_event_with_its_actor_rows_and_tables_version(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = example_rows()[:5]
    import_rows(engine, tmp_path, rows)
    result = plan_and_apply(engine, bi_settings(database_url, bi_sandbox)).last
    assert isinstance(result, ApplyResult) and result.failed == 0

    creates = _events(engine, "bi.user.create")
    assert len(creates) == len({r["Work Email"].lower() for r in rows})
    for event in creates:
        assert event.run_id == result.run_id and event.outcome == "applied"
        assert event.actor.startswith("system:apply@")
        assert event.before is None and event.after["userName"] == event.target["userName"]
        assert event.reason["tables_version"].startswith("sha256:")
        assert "scope.yaml:3" in event.reason["rows"]  # why: the mapping rows that decided it
        assert any(row.startswith("attributes.csv:") for row in event.reason["rows"])
    assert {e.target["userName"].lower() for e in creates} == {r["Work Email"].lower() for r in rows}
