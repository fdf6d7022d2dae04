"""Joiners, movers, leavers: pre-hire, leave, termination, absences, rehire, conversion."""

from __future__ import annotations

import datetime as dt

import pytest
from hr_export import (
    attribute_map,
    events,
    everyone,
    person,
    run_import,
    staff,
    stored,
    write_csv,
)

from sync.people.lifecycle import absent, decide
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.errors import AlreadyImported
from sync.sources.importer import ImportOptions, import_feed

TODAY = dt.date(2026, 6, 1)


def test_decide_is_a_pure_function_of_the_fields_and_the_date():
    hired = {"employment_status": "active", "hire_date": dt.date(2026, 6, 15), "termination_date": None}
    assert decide(hired, TODAY, 0).state == "pre_hire"
    assert decide(hired, TODAY, 14).state == "active"  # inside the lead: provision ahead of day one
    assert decide(hired, TODAY, 0).provision_from == dt.date(2026, 6, 15)
    ended = {"employment_status": "active", "hire_date": dt.date(2020, 1, 1), "termination_date": dt.date(2026, 5, 31)}
    assert decide(ended, TODAY, 0).state == "terminated"
    assert decide({**ended, "termination_date": TODAY}, TODAY, 0).state == "active"  # their last day
    rehired = {**ended, "termination_date": dt.date(2026, 5, 1), "hire_date": dt.date(2026, 5, 18)}
    assert decide(rehired, TODAY, 0).state == "active"
    assert decide({"employment_status": "leave"}, TODAY, 0).state == "leave"
    assert absent(1, 2) is None and absent(2, 2).state == "terminated"


def test_a_pre_hire_waits_for_the_lead_then_activates(engine, tmp_path):
    row = person("1000", Hire_Date="2026-06-20")
    run_import(engine, tmp_path, [row], prehire_lead_days=7)
    hire = stored(engine, "1000")
    assert hire.lifecycle == "pre_hire" and hire.provision_from == dt.date(2026, 6, 13)
    assert hire.fields["employment_status"] == "pre_hire"  # out of scope.yaml's scope
    later = run_import(engine, tmp_path, [row], prehire_lead_days=7, today=dt.date(2026, 6, 13))
    assert later.counts["changed"] == 1
    assert stored(engine, "1000").lifecycle == "active"
    assert events(engine, "1000")[-1] == ("lifecycle", {"from": "pre_hire", "to": "active"})


def test_leave_and_return(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000")])
    run_import(engine, tmp_path, [person("1000", Worker_Status="Leave of Absence")])
    assert stored(engine, "1000").lifecycle == "leave"
    run_import(engine, tmp_path, [person("1000")])
    assert stored(engine, "1000").lifecycle == "active"


def test_terminated_by_status_or_by_a_past_termination_date(engine, tmp_path):
    rows = [person("1000", Worker_Status="Terminated"), person("1001", Termination_Date="2026-05-01"),
            person("1002", Termination_Date="2026-07-01")]
    run_import(engine, tmp_path, rows)
    people = everyone(engine)
    assert [people[e].lifecycle for e in ("1000", "1001", "1002")] == ["terminated", "terminated", "active"]


def test_a_rehire_is_the_same_person_re_enabled(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000")])
    first_id = stored(engine, "1000").id
    left = run_import(engine, tmp_path, [person("1000", Termination_Date="2026-03-31")])
    assert left.counts["left"] == 1 and stored(engine, "1000").lifecycle == "terminated"
    back = run_import(engine, tmp_path, [person("1000", Hire_Date="2026-05-04", Termination_Date="2026-03-31")])
    assert back.counts["rehired"] == 1 and back.counts["added"] == 0
    rehired = stored(engine, "1000")
    assert rehired.id == first_id and rehired.lifecycle == "active" and rehired.dirty
    assert len(everyone(engine)) == 1
    assert [e for e, _ in events(engine, "1000")][-2:] == ["rehired", "changed"]


def test_a_contractor_becomes_an_employee_under_the_same_id(engine, tmp_path):
    run_import(engine, tmp_path, [person("C-77", Worker_Type="Contingent Worker")])
    run = run_import(engine, tmp_path, [person("C-77", Worker_Type="Full-Time")])
    assert run.counts["converted"] == 1
    assert stored(engine, "C-77").employment_type == "employee"
    assert ("converted", {"employment_type": ["contractor", "employee"]}) in events(engine, "C-77")


def test_a_contractor_hired_under_a_new_id_is_not_a_duplicate(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000"), person("C-77", Worker_Type="Contingent", Work_Email="kim@northwind.example")])
    contractor_id = stored(engine, "C-77").id
    run = run_import(engine, tmp_path, [person("1000"), person("2001", Work_Email="kim@northwind.example")])
    assert run.counts["converted"] == 1 and run.counts["added"] == 0 and run.counts.get("missing", 0) == 0
    employee = stored(engine, "2001")
    assert employee.id == contractor_id and employee.employment_type == "employee"
    assert stored(engine, "C-77") is None
    assert ("converted", {"employee_id": ["C-77", "2001"], "employment_type": ["contractor", "employee"]}) \
        in events(engine, "2001")


def test_a_person_missing_from_full_feeds_leaves_after_two_absences(engine, tmp_path):
    rows = staff(30)
    run_import(engine, tmp_path, rows)
    first = run_import(engine, tmp_path, rows[:29])
    assert first.counts["missing"] == 1 and stored(engine, "1029").lifecycle == "active"
    assert stored(engine, "1029").absences == 1
    second = run_import(engine, tmp_path, rows[:29])
    assert second.counts["left"] == 1
    gone = stored(engine, "1029")
    assert gone.lifecycle == "terminated" and gone.dirty and gone.fields["employment_status"] == "terminated"
    assert events(engine, "1029")[-1] == ("left", {"why": "missing from 2 consecutive full feeds"})


def test_coming_back_before_the_limit_resets_the_count(engine, tmp_path):
    rows = staff(30)
    run_import(engine, tmp_path, rows)
    run_import(engine, tmp_path, rows[:29])
    run_import(engine, tmp_path, rows)
    run_import(engine, tmp_path, rows[:29])
    assert stored(engine, "1029").lifecycle == "active" and stored(engine, "1029").absences == 1


def test_a_rejected_row_is_not_an_absence(engine, tmp_path):
    rows = staff(30)
    run_import(engine, tmp_path, rows)
    rows[5] = person("1005", Hire_Date="31/31/2020")
    run = run_import(engine, tmp_path, rows)
    assert run.counts["rejected"] == 1 and run.counts["missing"] == 0
    assert stored(engine, "1005").absences == 0


def test_a_row_that_cannot_be_read_is_not_an_absence_when_its_id_can(engine, tmp_path):
    rows = staff(30)
    run_import(engine, tmp_path, rows)
    rows[5] = person("1005", Job_Title="Ana\x00lyst")  # rejected while reading (see sources.cells)
    for _ in range(2):  # two consecutive full feeds would make an absentee a leaver
        run = run_import(engine, tmp_path, rows)
        assert run.counts["rejected"] == 1 and run.counts["missing"] == 0
    assert stored(engine, "1005").absences == 0 and stored(engine, "1005").lifecycle == "active"
    assert run.details["rejects"][0]["employee_id"] == "1005"
def test_incremental_feeds_count_no_absences(engine, tmp_path):
    run_import(engine, tmp_path, staff(30))
    run = run_import(engine, tmp_path, [person("1003", Job_Title="Controller")], mode="incremental")
    assert run.status == "succeeded" and run.counts["changed"] == 1 and run.counts["missing"] == 0
    assert all(p.absences == 0 for p in everyone(engine).values())


def test_managers_resolve_to_people_and_dangling_ones_are_reported(engine, tmp_path):
    rows = [person("1000"), person("1001", Manager_ID="1000"), person("1002", Manager_ID="4242")]
    run = run_import(engine, tmp_path, rows)
    assert run.counts["dangling_managers"] == 1
    assert run.details["problems"] == ["1002: manager 4242 is nobody in the identity store"]
    rows.append(person("4242"))
    later = run_import(engine, tmp_path, rows)
    assert later.counts["dangling_managers"] == 0 and later.details["problems"] == []


def test_a_full_feed_sweeps_only_its_own_source(engine, tmp_path):
    run_import(engine, tmp_path, staff(10), source="workday")
    run_import(engine, tmp_path, [person("C-1", Worker_Type="Contingent")], source="contractors")
    for _ in range(3):
        run = run_import(engine, tmp_path, staff(10), source="workday")
        assert run.counts["missing"] == 0
    assert stored(engine, "C-1").lifecycle == "active" and stored(engine, "C-1").absences == 0


def _same_file_again(engine, path, today: dt.date):
    """The nightly sync's import of an unchanged export: not forced past the ledger."""
    amap = attribute_map()
    feed = csv_feed(path, "hr", "full", CsvOptions(), amap)
    return import_feed(engine, feed, amap, ImportOptions(source="hr", today=today, rejects_dir=path.parent / "rejects"))


def test_the_same_export_is_read_again_when_a_date_in_it_comes(engine, tmp_path):
    # A termination at month end and a start date, in an export nobody re-sends: the
    # nightly sync must still end the one and begin the other on their dates.
    path = write_csv(tmp_path / "export.csv", [person("1000", Termination_Date="2026-06-30"),
                                               person("1001", Hire_Date="2026-06-10"), person("1002")])
    _same_file_again(engine, path, TODAY)
    assert stored(engine, "1000").lifecycle == "active" and stored(engine, "1000").review_on == dt.date(2026, 7, 1)
    assert stored(engine, "1001").lifecycle == "pre_hire"
    with pytest.raises(AlreadyImported):  # nothing has come due: the same file is skipped
        _same_file_again(engine, path, dt.date(2026, 6, 9))
    started = _same_file_again(engine, path, dt.date(2026, 6, 10))
    assert stored(engine, "1001").lifecycle == "active" and started.counts["changed"] == 1
    assert stored(engine, "1000").lifecycle == "active"  # their last day is still to come
    with pytest.raises(AlreadyImported):
        _same_file_again(engine, path, dt.date(2026, 6, 30))  # their last day: still employed
    left = _same_file_again(engine, path, dt.date(2026, 7, 1))
    assert stored(engine, "1000").lifecycle == "terminated" and left.counts["changed"] == 1
    assert events(engine, "1000")[-1][0] == "left"
    with pytest.raises(AlreadyImported):  # decided once: no date is due any more
        _same_file_again(engine, path, dt.date(2026, 7, 2))


def test_people_show_says_what_is_scheduled(engine, tmp_path):
    from sync.db import session_scope
    from sync.people.views import show_person

    run_import(engine, tmp_path, [person("1000", Termination_Date="2026-06-30"),
                                  person("1001", Hire_Date="2026-06-20"), person("1002")], prehire_lead_days=7)
    with session_scope(engine) as session:
        leaving, joining, staying = (show_person(session, key)["scheduled"] for key in ("1000", "1001", "1002"))
    assert leaving == [{"on": "2026-07-01", "change": "leaves (termination date 2026-06-30 has passed)"}]
    assert joining == [{"on": "2026-06-13",
                        "change": "provisioned (pre-hire lead before the start date 2026-06-20)"}]
    assert staying == []


def test_people_show_prints_what_is_scheduled(engine, tmp_path, database_url, repo_root):
    from click.testing import CliRunner

    from sync.cli import main

    run_import(engine, tmp_path, [person("1000", Termination_Date="2026-06-30")])
    result = CliRunner().invoke(main, ["people", "show", "1000"], env={
        "DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(repo_root / "mappings"),
        "HR2BI_MIGRATE_ON_START": "false"})
    assert result.exit_code == 0, result.output
    assert "  scheduled: 2026-07-01 leaves (termination date 2026-06-30 has passed)" in result.output
