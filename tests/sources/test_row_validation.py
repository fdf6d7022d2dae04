"""Per-row validation and the rejects report: bad rows out with line and reason, good rows in."""

from __future__ import annotations

import csv
from pathlib import Path

from sync.rules import load_dir
from sync.sources.feed import Record, Reject
from sync.sources.rejects import safe_cell, write_rejects
from sync.sources.validate import validate_records

AMAP = load_dir(Path(__file__).resolve().parents[2] / "mappings").attribute_map


def row(employee_id: str, **changes: str) -> dict[str, str]:
    values = {"Employee ID": employee_id, "Work Email": f"p{employee_id}@x.example", "Preferred First Name": "",
              "Legal First Name": "Ann", "Last Name": "Lee", "Department": "Finance", "Job Title": "Analyst",
              "Location": "London", "Cost Center": "cc-1", "Security Level": "2", "Manager ID": "",
              "Worker Status": "Active", "Worker Type": "Regular", "Hire Date": "2020-01-02", "Termination Date": ""}
    return {**values, **{k.replace("_", " "): v for k, v in changes.items()}}


def check(*rows: dict[str, str]):
    return validate_records([Record(n + 2, r) for n, r in enumerate(rows)], AMAP, "line")


def reasons(rejects: list[Reject]) -> dict[int, str]:
    return {r.position: r.reason for r in rejects}


def test_good_rows_pass_and_each_bad_row_says_why():
    good, bad = check(row("1"), row("2", Work_Email="ann lee"), row("3", Hire_Date="2020-13-45"),
                      row("4", Employee_ID=" "), row("5", Security_Level="high"), row("6", Worker_Status="Retired"),
                      row("7", Work_Email="a@b.example; c@d.example"))
    assert [c.person.employee_id for c in good] == ["1"]
    found = reasons(bad)
    assert found[3] == "Work Email: 'ann lee' is not an email address"
    assert found[4].startswith("Hire Date:") and "not a date" in found[4]
    assert found[5] == "Employee ID is empty: every person needs one"
    assert found[6].startswith("Security Level:") and "not a number" in found[6]
    assert "unknown status 'retired'" in found[7]
    assert "is not an email address" in found[8]


def test_every_copy_of_a_duplicated_employee_id_is_rejected():
    good, bad = check(row("1"), row("2"), row("1", Last_Name="Other"), row("3"))
    assert [c.person.employee_id for c in good] == ["2", "3"]
    assert reasons(bad) == {2: "employee id '1' appears on lines 2, 4: every copy is rejected: keep one row per person",
                            4: "employee id '1' appears on lines 2, 4: every copy is rejected: keep one row per person"}


def test_us_and_iso_dates_both_read():
    good, _bad = check(row("1", Hire_Date="03/01/2024"), row("2", Hire_Date="2024-03-01"))
    assert {c.person["hire_date"].isoformat() for c in good} == {"2024-03-01"}


def test_the_rejects_report_is_formula_safe(tmp_path):
    rejects = [Reject(7, "bad", "=1+1", {"Employee ID": "=HYPERLINK(\"http://evil\")", "Last Name": "@SUM(A1)"}),
               Reject(9, "-2 is odd", "+4", {"Employee ID": "\tx", "Last Name": "O'Brien"})]
    path = write_rejects(tmp_path / "r.csv", rejects, ["Employee ID", "Last Name"], "line")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "employee_id", "reason", "Employee ID", "Last Name"]
    assert rows[1] == ["7", "'=1+1", "bad", "'=HYPERLINK(\"http://evil\")", "'@SUM(A1)"]
    assert rows[2] == ["9", "'+4", "'-2 is odd", "'\tx", "O'Brien"]
    assert safe_cell("\rX") == "'\rX" and safe_cell(None) == ""



def test_a_repeated_cell_reads_the_same_on_every_row_and_a_bad_one_rejects_every_row():
    """Cells are read once per distinct text (an export repeats departments and dates): the
    same text gives the same value on every row, and a bad one fails each row it is on."""
    rows = [row(str(n), Department="R&D", Hire_Date="2020-13-45" if n % 3 == 0 else "03/01/2024",
                Worker_Status=" On Leave ", Security_Level="7") for n in range(1, 10)]
    good, bad = check(*rows, row("10", Department=" "), row("11", Missing_Column="x"))
    assert sorted(r.position for r in bad) == [4, 7, 10]
    assert all(r.reason.startswith("Hire Date:") for r in bad)
    people = [c.person for c in good]
    assert {(p["department"], p["hire_date"].isoformat(), p["employment_status"], p["security_level"])
            for p in people[:-2]} == {("Engineering", "2024-03-01", "leave", 7)}
    assert people[-2]["department"] is None and people[-2].sources.get("department") is None
    assert people[-1]["department"] == "Finance"
