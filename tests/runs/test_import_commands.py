"""The commands end to end: hr2bi import csv, runs list|show|approve, people list|show."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.cli import main

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
HEADER = ("Employee ID;Work Email;Preferred First Name;Legal First Name;Last Name;Department;Job Title;"
          "Location;Cost Center;Security Level;Manager ID;Worker Status;Worker Type;Hire Date;Termination Date")


def line(eid: str, email: str | None = None, last: str = "Lee", hired: str = "01/15/2020", manager: str = "") -> str:
    return (f"{eid};{email or f'p{eid}@northwind.example'};;Ana;{last};Finance;Analyst;London;cc-1100;2;"
            f"{manager};Active;Regular;{hired};")


@pytest.fixture
def hr2bi(engine, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(MAPPINGS), "HR2BI_MIGRATE_ON_START": "false",
           "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")}
    (tmp_path / "hr2bi.toml").write_text(f'[sources]\nrejects_dir = "{tmp_path / "rejects"}"\n')

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env)

    return run


def export(path: Path, rows: list[str], bom: bool = True) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + "\r\n".join([HEADER, *rows, ""]).encode("utf-8"))
    return path


def test_a_messy_export_imports_its_good_rows_and_reports_the_rest(hr2bi, tmp_path):
    rows = [line("1000"), line("1001", manager="1000"),
            '1002;p1002@northwind.example;;"Ana\nMaria";Lee;Finance;Analyst;London;cc-1;2;;Active;Regular;01/15/2020;',
            line("1003", hired="2020-02-30"), line("1004"), line("1004", last="Twice"),
            line("1005", email="=HYPERLINK(\"http://x\")")]
    result = hr2bi("import", "csv", str(export(tmp_path / "workers.csv", rows)), "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded"
    assert run["counts"]["added"] == 3 and run["counts"]["rejected"] == 4
    lines = {r["line"]: r["reason"] for r in run["details"]["rejects"]}
    assert set(lines) == {6, 7, 8, 9}  # the quoted line break shifts the numbers: physical lines
    assert "Hire Date" in lines[6] and "appears on lines 7, 8" in lines[7]
    with open(run["details"]["rejects_file"], encoding="utf-8-sig", newline="") as report:
        cells = [c for r in csv.reader(report) for c in r]
    assert "'=HYPERLINK(\"http://x\")" in cells and "=HYPERLINK(\"http://x\")" not in cells
    shown = hr2bi("people", "show", "1002", "--json")
    assert json.loads(shown.stdout)["fields"]["given_name"] == "Ana\nMaria"


def test_the_same_file_twice_is_refused_unless_forced(hr2bi, tmp_path):
    path = export(tmp_path / "workers.csv", [line("1000")])
    assert hr2bi("import", "csv", str(path)).exit_code == 0
    again = hr2bi("import", "csv", str(path))
    assert again.exit_code == 1 and "use --force" in again.output and "Traceback" not in again.output
    forced = hr2bi("import", "csv", str(path), "--force", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["counts"]["unchanged"] == 1


def test_a_held_feed_exits_2_and_is_approved_by_name(hr2bi, tmp_path):
    assert hr2bi("import", "csv", str(export(tmp_path / "a.csv", [line(str(n)) for n in range(1000, 1010)]))).exit_code == 0
    held = hr2bi("import", "csv", str(export(tmp_path / "b.csv", [line("1000")])))
    assert held.exit_code == 2 and "HELD" in held.output and "runs approve 2 --by NAME" in held.output
    listing = hr2bi("runs", "list", "--status", "held", "--json")
    assert [r["id"] for r in json.loads(listing.stdout)] == [2]
    assert "90% fewer" in hr2bi("runs", "show", "2").output
    assert hr2bi("runs", "approve", "2").exit_code == 2  # --by is required (usage error)
    approved = hr2bi("runs", "approve", "2", "--by", "dana", "--json")
    assert approved.exit_code == 0, approved.output
    run = json.loads(approved.stdout)
    assert run["status"] == "approved" and run["approved_by"] == "dana" and run["counts"]["missing"] == 9
    people = json.loads(hr2bi("people", "list", "--json").stdout)
    assert len(people) == 10 and all(p["lifecycle"] == "active" for p in people)  # one absence is not leaving


def test_people_show_has_the_merged_view_and_history(hr2bi, tmp_path):
    hr2bi("import", "csv", str(export(tmp_path / "a.csv", [line("1000"), line("1001", manager="1000")])))
    shown = hr2bi("people", "show", "P1001@northwind.example")
    assert shown.exit_code == 0, shown.output
    assert "lifecycle: active" in shown.output and "manager: 1000" in shown.output
    assert "joined" in shown.output and "GB-LON" in shown.output
    listed = hr2bi("people", "list", "--status", "active")
    assert "1000" in listed.output and "1001" in listed.output
    missing = hr2bi("people", "show", "9999")
    assert missing.exit_code == 1 and "no person with employee id, email, userName or SCIM id '9999'" in missing.output


def test_user_errors_are_one_clear_line(hr2bi, tmp_path):
    nothing = hr2bi("import", "csv", str(tmp_path / "nope.csv"))
    assert nothing.exit_code == 1 and "no such file or folder" in nothing.output
    (tmp_path / "noid.csv").write_text("Name,Work Email\nAna,a@x.example\n")
    noid = hr2bi("import", "csv", str(tmp_path / "noid.csv"))
    assert noid.exit_code == 1 and "no 'Employee ID' column" in noid.output
    unknown = hr2bi("import", "api", "workday")
    assert unknown.exit_code == 1 and "no api source named 'workday'" in unknown.output
    assert hr2bi("runs", "show", "77").exit_code == 1
    for result in (nothing, noid, unknown):
        assert "Traceback" not in result.output


def test_a_configured_drop_folder_reads_its_newest_export(hr2bi, tmp_path):
    import os

    drop = tmp_path / "drop"
    drop.mkdir()
    export(drop / "workers_old.csv", [line("1000")])
    export(drop / "workers_new.csv", [line("1000"), line("1001")])
    os.utime(drop / "workers_old.csv", (1_000_000, 1_000_000))
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path / "rejects"}"\n'
        f'[sources.workday-drop]\ntype = "csv"\npath = "{drop}"\nglob = "workers_*.csv"\ndelimiter = ";"\n')
    result = hr2bi("import", "csv", "--source", "workday-drop", "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["source"] == "workday-drop" and run["counts"]["added"] == 2
    assert run["details"]["origin"].endswith("workers_new.csv")


def test_a_held_file_read_again_points_at_its_run(hr2bi, tmp_path):
    hr2bi("import", "csv", str(export(tmp_path / "a.csv", [line(str(n)) for n in range(1000, 1010)])))
    short = export(tmp_path / "b.csv", [line("1000")])
    assert hr2bi("import", "csv", str(short)).exit_code == 2
    again = hr2bi("import", "csv", str(short))
    assert again.exit_code == 1 and "held as run 2" in again.output and "runs approve 2 --by NAME" in again.output


def test_people_list_filters_by_state_and_by_the_planner_marker(hr2bi, tmp_path, engine):
    from sqlalchemy import update

    from sync.db import session_scope
    from sync.models import StoredPerson

    rows = [line("1000"), line("1001", hired="2099-01-01")]
    hr2bi("import", "csv", str(export(tmp_path / "a.csv", rows)))
    pre = json.loads(hr2bi("people", "list", "--status", "pre_hire", "--json").stdout)
    assert [p["employee_id"] for p in pre] == ["1001"]
    with session_scope(engine) as session:
        session.execute(update(StoredPerson).where(StoredPerson.employee_id == "1000").values(dirty=False))
    dirty = json.loads(hr2bi("people", "list", "--dirty", "--json").stdout)
    assert [p["employee_id"] for p in dirty] == ["1001"]
    assert len(json.loads(hr2bi("people", "list", "--json").stdout)) == 2


def test_an_unusable_audit_key_fails_the_import_in_one_line(hr2bi, tmp_path):
    config = tmp_path / "hr2bi.toml"
    config.write_text(f'audit_signing_key = "{tmp_path / "missing.pem"}"\n' + config.read_text())
    result = hr2bi("import", "csv", str(export(tmp_path / "workers.csv", [line("1000")])))
    assert result.exit_code == 1 and "cannot load private key" in result.output
    assert "Traceback" not in result.output
    runs = json.loads(hr2bi("runs", "list", "--json").stdout)
    assert [(r["status"], r["counts"]) for r in runs] == [("failed", {})]
    assert json.loads(hr2bi("people", "list", "--json").stdout) == []


# A feed with every kind of bad line, after eight good ones (lines 2-9): bytes that are not
# UTF-8 (line 10), a ragged line (11), an impossible hire date (12), an id on two lines (13, 14).
MESSY_REASONS = {10: "bytes e9 are not valid utf-8", 11: "the row has 6 cells but the header has 15",
                 12: "Hire Date", 13: "appears on lines 13, 14", 14: "appears on lines 13, 14"}
MESSY_DATA_LINES = 13


def messy_export(path: Path) -> Path:
    rows = [line(str(n)).encode() for n in range(1000, 1008)]
    rows += [line("1008", last="L\xe9e").encode("latin-1"), b"1009;p1009@northwind.example;;Ana;Lee;Finance",
             line("1010", hired="2020-02-30").encode(), line("1011").encode(), line("1011", last="Twice").encode()]
    path.write_bytes(b"\r\n".join([HEADER.encode(), *rows, b""]))
    return path


def assert_every_bad_line_reported(run: dict, events: list) -> None:
    counts = run["counts"]
    imported = counts["added"] + counts["changed"] + counts["unchanged"]
    assert (imported, counts["rejected"]) == (8, 5) and imported + counts["rejected"] == MESSY_DATA_LINES
    shown = {r["line"]: r["reason"] for r in run["details"]["rejects"]}
    assert set(shown) == set(MESSY_REASONS) and all(MESSY_REASONS[n] in shown[n] for n in shown)
    with open(run["details"]["rejects_file"], encoding="utf-8-sig", newline="") as report:
        header, *rows = list(csv.reader(report))
    assert header[:3] == ["line", "employee_id", "reason"]
    assert {int(r[0]): r[2] for r in rows} == shown and len(rows) == 5
    audited = {e.target["id"]: e.after["reason"] for e in events if e.action == "import.reject"}
    assert audited == {f"line {n}": reason for n, reason in shown.items()}


def import_events(engine, run_id: int) -> list:
    from sqlalchemy import select

    from sync.db import session_scope
    from sync.models import AuditEvent

    with session_scope(engine) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.run_id == run_id)))
        session.expunge_all()
        return events


def test_a_messy_export_reports_every_bad_line_and_its_counts_add_up(hr2bi, tmp_path, engine):
    result = hr2bi("import", "csv", str(messy_export(tmp_path / "workers.csv")), "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded"
    assert_every_bad_line_reported(run, import_events(engine, run["id"]))


def test_approving_a_held_messy_export_reports_every_bad_line(hr2bi, tmp_path, engine):
    assert hr2bi("import", "csv", str(export(tmp_path / "a.csv", [line(str(n)) for n in range(1000, 1020)]))).exit_code == 0
    held = hr2bi("import", "csv", str(messy_export(tmp_path / "b.csv")), "--json")
    assert held.exit_code == 2 and json.loads(held.stdout)["status"] == "held"  # 11 readable rows of 20
    approved = hr2bi("runs", "approve", "2", "--by", "dana", "--json")
    assert approved.exit_code == 0, approved.output
    run = json.loads(approved.stdout)
    assert run["status"] == "approved" and run["counts"]["unchanged"] == 8
    assert_every_bad_line_reported(run, import_events(engine, 2))
    shown = hr2bi("runs", "show", "2").output
    assert all(f"rejected line {n}: " in shown for n in MESSY_REASONS)


def test_a_held_feed_is_rejected_by_name_and_never_imported(hr2bi, tmp_path, engine):
    from sqlalchemy import select

    from sync.db import session_scope
    from sync.models import AuditEvent, RunRecord

    hr2bi("import", "csv", str(export(tmp_path / "a.csv", [line(str(n)) for n in range(1000, 1010)])))
    short = export(tmp_path / "b.csv", [line("1000", last="Truncated")])
    held = hr2bi("import", "csv", str(short))
    assert held.exit_code == 2 and "held as run 2" in held.output
    assert "`hr2bi runs show 2`" in held.output and "`hr2bi runs reject 2 --by NAME --reason TEXT`" in held.output
    assert hr2bi("runs", "reject", "2", "--by", "dana").exit_code == 2  # --reason is required (usage error)

    rejected = hr2bi("runs", "reject", "2", "--by", "dana", "--reason", "export cut short", "--json")

    assert rejected.exit_code == 0, rejected.output
    run = json.loads(rejected.stdout)
    assert run["status"] == "rejected" and run["details"]["rejected"]["by"] == "dana"
    shown = hr2bi("runs", "show", "2").output
    assert "rejected by dana" in shown and "export cut short" in shown and "90% fewer" in shown
    people = json.loads(hr2bi("people", "list", "--json").stdout)
    assert len(people) == 10 and all(p["lifecycle"] == "active" for p in people)
    assert json.loads(hr2bi("people", "show", "1000", "--json").stdout)["fields"]["family_name"] == "Lee"
    with session_scope(engine) as session:
        assert list(session.scalars(select(RunRecord).where(RunRecord.run_id == 2))) == []
        events = [(e.action, e.actor, e.reason["rejected_because"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "run.reject"))]
    assert events == [("run.reject", "approver:dana", "export cut short")]
    approve = hr2bi("runs", "approve", "2", "--by", "dana")
    assert approve.exit_code == 1 and "run 2 is rejected" in approve.output
    not_held = hr2bi("runs", "reject", "1", "--by", "dana", "--reason", "why not")
    assert not_held.exit_code == 1 and "run 1 is succeeded, not held" in not_held.output
    again = hr2bi("import", "csv", str(short))  # the same file: refused, naming the rejection
    assert again.exit_code == 1 and "rejected as run 2" in again.output and "--force" in again.output
    assert "Traceback" not in again.output + approve.output + not_held.output
