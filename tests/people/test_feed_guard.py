"""A suspicious full feed is held, changes nobody, and is released only by an approval."""

from __future__ import annotations

import pytest
from hr_export import (
    HEADER,
    TODAY,
    attribute_map,
    clean,
    events,
    everyone,
    person,
    run_import,
    staff,
    stored,
)

from sync.db import session_scope
from sync.runs import RunError, get_run
from sync.sources.importer import ImportOptions, approve_import


def approve(engine, run_id: int, tmp_path, by: str = "dana"):
    options = ImportOptions(rejects_dir=tmp_path / "rejects", today=TODAY)
    return approve_import(engine, run_id, by, attribute_map(), options)


def test_a_truncated_full_feed_is_held_and_changes_nobody(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    clean(engine)
    before = {eid: (p.content_hash, p.lifecycle, p.absences) for eid, p in everyone(engine).items()}
    held = run_import(engine, tmp_path, staff(20)[:15])  # 25% fewer people
    assert held.status == "held"
    assert "15 people, 25% fewer than the 20" in held.reason
    after = {eid: (p.content_hash, p.lifecycle, p.absences) for eid, p in everyone(engine).items()}
    assert after == before
    assert not any(p.dirty for p in everyone(engine).values())


def test_a_small_shrink_is_a_normal_import(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    run = run_import(engine, tmp_path, staff(20)[:19])  # 5% fewer: people do leave
    assert run.status == "succeeded" and run.counts["missing"] == 1


def test_the_shrink_limit_is_configurable(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    assert run_import(engine, tmp_path, staff(20)[:15], max_shrink=0.5).status == "succeeded"


def test_approving_a_held_feed_imports_it_and_records_who(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    held = run_import(engine, tmp_path, staff(20)[:15])
    approved = approve(engine, held.id, tmp_path)
    assert approved.status == "approved" and approved.approved_by == "dana"
    assert approved.counts["missing"] == 5 and approved.counts["unchanged"] == 15
    assert stored(engine, "1019").absences == 1  # one absence: not a leaver yet
    with pytest.raises(RunError, match="approved, not held"):
        approve(engine, held.id, tmp_path)


def test_a_held_run_overtaken_by_a_newer_import_cannot_be_approved(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    held = run_import(engine, tmp_path, staff(20)[:10])
    run_import(engine, tmp_path, staff(20))
    with pytest.raises(RunError, match="roll its data back"):
        approve(engine, held.id, tmp_path)
    with session_scope(engine) as session:
        assert get_run(session, held.id).status == "held"


def test_a_missing_mapped_column_is_held_and_approval_keeps_its_last_values(engine, tmp_path):
    run_import(engine, tmp_path, staff(3))
    clean(engine)
    without = [c for c in HEADER if c != "Cost Center"]
    rows = [person("1000", Job_Title="Controller"), person("1001"), person("1002")]
    held = run_import(engine, tmp_path, rows, header=without, mode="incremental")
    assert held.status == "held" and "Cost Center" in held.reason
    assert stored(engine, "1000").fields["title"] == "Analyst"
    approve(engine, held.id, tmp_path)
    mover = stored(engine, "1000")
    assert mover.fields["title"] == "Controller" and mover.fields["cost_center"] == "CC-1100"
    assert [p.employee_id for p in everyone(engine).values() if p.dirty] == ["1000"]


def test_a_changed_header_is_held(engine, tmp_path):
    run_import(engine, tmp_path, staff(3))
    held = run_import(engine, tmp_path, staff(3), header=[*HEADER, "Badge Number"])
    assert held.status == "held" and "header changed" in held.reason and "added Badge Number" in held.reason


def test_no_employee_id_column_fails_before_reading_rows(engine, tmp_path):
    from sync.sources.errors import FeedError

    with pytest.raises(FeedError, match="no 'Employee ID' column"):
        run_import(engine, tmp_path, staff(3), header=[c for c in HEADER if c != "Employee ID"])
    assert everyone(engine) == {}


def test_the_first_full_feed_has_nothing_to_shrink_from(engine, tmp_path):
    assert run_import(engine, tmp_path, staff(1)).status == "succeeded"
    assert events(engine, "1000")[0][0] == "joined"


def test_a_held_feed_with_a_nul_cell_keeps_that_row_as_a_reject_through_approval(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    rows = staff(20)[:15]  # held: 25% fewer people
    rows[3]["Job Title"] = "Ana\x00lyst"
    held = run_import(engine, tmp_path, rows)  # PostgreSQL cannot store U+0000 in a held row
    assert held.status == "held" and held.counts["rejected"] == 1
    approved = approve(engine, held.id, tmp_path)
    assert approved.counts["rejected"] == 1 and approved.counts["unchanged"] == 14
    [shown] = approved.details["rejects"]
    assert shown["line"] == 5 and "Job Title" in shown["reason"] and "U+0000" in shown["reason"]
