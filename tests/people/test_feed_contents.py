"""A feed whose header labels were swapped is held before it touches anyone.

The column names are all there, so the header checks pass; the contents no longer fit
them. Before this check, hire and termination dates swapped moved most of the sample
company to terminated, and only the plan guard stopped the damage downstream.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hr_export import (
    HEADER,
    TODAY,
    attribute_map,
    clean,
    everyone,
    person,
    run_import,
    staff,
    stored,
)

from sync.sources.feed import Record
from sync.sources.fit import content_reasons, sample_ids
from sync.sources.importer import ImportOptions, approve_import

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hr" / "northwind_workers.csv"


def example() -> list[dict[str, str]]:
    with EXAMPLE.open(encoding="utf-8", newline="") as export:
        return list(csv.DictReader(export))


def relabelled(rows: list[dict[str, str]], a: str, b: str) -> list[dict[str, str]]:
    """The same cells under swapped labels: column ``a`` is now called ``b`` and back."""
    return [{**row, a: row[b], b: row[a]} for row in rows]


def state(engine) -> dict[str, tuple[str, str]]:
    return {eid: (p.lifecycle, p.content_hash) for eid, p in everyone(engine).items()}


def imported_example(engine, tmp_path) -> dict[str, tuple[str, str]]:
    assert run_import(engine, tmp_path, example()).status == "succeeded"
    clean(engine)
    return state(engine)


def test_swapped_hire_and_termination_labels_are_held_and_nobody_is_terminated(engine, tmp_path):
    before = imported_example(engine, tmp_path)
    held = run_import(engine, tmp_path, relabelled(example(), "Hire Date", "Termination Date"))
    assert held.status == "held"
    assert "Termination Date now holds what Hire Date held before for 301 of the 301 people compared" in held.reason
    assert "(e.g. employee 1000: '03/01/2012'" in held.reason
    assert "Hire Date changed for 301 of the 301 people compared at once" in held.reason
    assert f"hr2bi runs approve {held.id} --by NAME" in held.reason
    assert state(engine) == before and not any(p.dirty for p in everyone(engine).values())


def test_swapped_first_and_last_name_labels_are_held(engine, tmp_path):
    before = imported_example(engine, tmp_path)
    held = run_import(engine, tmp_path, relabelled(example(), "Legal First Name", "Last Name"))
    assert held.status == "held"
    assert "Legal First Name now holds what Last Name held before for 301 of the 301 people compared" in held.reason
    assert "Last Name now holds what Legal First Name held before for 301 of the 301 people compared" in held.reason
    assert state(engine) == before
    assert stored(engine, "1000").fields["given_name"] == "Grace"


def test_swapped_name_and_email_labels_are_held_even_on_a_first_import(engine, tmp_path):
    held = run_import(engine, tmp_path, relabelled(example(), "Work Email", "Legal First Name"))
    assert held.status == "held" and everyone(engine) == {}
    assert "Work Email: 301 of the 301 values checked are not email addresses (e.g. 'Grace', 'Hiro')" in held.reason


def test_a_normal_next_day_export_with_a_leaver_and_a_mover_is_not_held(engine, tmp_path):
    imported_example(engine, tmp_path)
    rows = example()
    leaver = next(r for r in rows if r["Employee ID"] == "1010")
    leaver.update({"Worker Status": "Terminated", "Termination Date": "05/29/2026"})
    mover = next(r for r in rows if r["Employee ID"] == "1020")
    mover.update({"Department": "Sales", "Job Title": "Account Executive", "Last Name": "Okafor-Lee"})
    run = run_import(engine, tmp_path, rows)
    assert run.status == "succeeded" and run.counts["changed"] == 2 and run.counts["left"] == 1


def test_an_approved_relabelled_feed_is_imported_as_it_is(engine, tmp_path):
    imported_example(engine, tmp_path)
    held = run_import(engine, tmp_path, relabelled(example(), "Legal First Name", "Last Name"))
    options = ImportOptions(rejects_dir=tmp_path / "rejects", today=TODAY)
    assert approve_import(engine, held.id, "dana", attribute_map(), options).status == "approved"
    assert stored(engine, "1000").fields["given_name"] == "Haddad"


def test_a_few_people_or_a_new_date_format_prove_nothing(engine, tmp_path):
    run_import(engine, tmp_path, staff(3))
    swapped = [person(str(n), Legal_First_Name="Lee", Last_Name=f"First{n}") for n in range(1000, 1003)]
    assert run_import(engine, tmp_path, swapped).status == "succeeded"  # 3 people: below MIN_PEOPLE
    run_import(engine, tmp_path, staff(20))
    iso = [person(str(n), Hire_Date="2020-01-15") for n in range(1000, 1020)]
    assert run_import(engine, tmp_path, iso).status == "succeeded"  # the same dates, written ISO


def test_the_check_reads_only_columns_it_knows_and_values_it_can_read():
    amap = attribute_map()
    rows = [Record(n, dict(person(str(n), Hire_Date="not a date", Security_Level="high"))) for n in range(10)]
    reasons = content_reasons(rows, amap, {}, full=True)
    assert [r.split(":")[0] for r in reasons] == ["Security Level", "Hire Date"]
    assert "10 of the 10 values checked are not numbers (e.g. 'high', 'high')" in reasons[0]
    fine = [Record(n, {c: v for c, v in person(str(n)).items() if c in HEADER}) for n in range(10)]
    assert content_reasons(fine, amap, {str(n): person(str(n)) for n in range(10)}, full=True) == []


def test_a_large_feed_is_judged_on_an_evenly_spaced_sample():
    amap = attribute_map()
    people = [person(str(n), Last_Name=f"Last{n}") for n in range(5000)]
    stored = {row["Employee ID"]: row for row in people}
    swapped = [Record(n, row) for n, row in enumerate(relabelled(people, "Legal First Name", "Last Name"))]
    assert len(sample_ids(swapped, amap)) == 1667  # every 3rd record: at most SAMPLE
    reasons = content_reasons(swapped, amap, {eid: stored[eid] for eid in sample_ids(swapped, amap)}, full=True)
    assert "Legal First Name now holds what Last Name held before for 1667 of the 1667 people compared" in reasons[0]


def test_hr2bi_import_csv_exits_2_on_swapped_labels_and_says_why(engine, database_url, tmp_path, repo_root):
    from click.testing import CliRunner

    from sync.cli import main

    (tmp_path / "hr2bi.toml").write_text(f'[sources]\nrejects_dir = "{tmp_path / "rejects"}"\n')
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(repo_root / "mappings"),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")}
    header = list(example()[0])
    swapped = [header[:13] + ["Termination Date", "Hire Date"]]  # the labels only: the cells stay put
    with EXAMPLE.open(encoding="utf-8", newline="") as export:
        swapped += list(csv.reader(export))[1:]
    path = tmp_path / "northwind_workers_swapped.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(swapped)
    assert CliRunner().invoke(main, ["import", "csv", str(EXAMPLE)], env=env).exit_code == 0
    before = state(engine)
    result = CliRunner().invoke(main, ["import", "csv", str(path)], env=env)
    assert result.exit_code == 2 and "Traceback" not in result.output  # held (see sync/cli/imports.py)
    assert "HELD: held as run 2: Hire Date changed for 301 of the 301 people compared" in result.output
    assert "hr2bi runs approve 2 --by NAME" in result.output
    assert state(engine) == before  # nobody terminated
