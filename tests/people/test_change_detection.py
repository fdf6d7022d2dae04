"""Only people whose relevant data changed are marked for the planner."""

from __future__ import annotations

from hr_export import TODAY, clean, events, everyone, person, run_import, staff, stored


def test_first_import_adds_and_marks_everyone(engine, tmp_path):
    run = run_import(engine, tmp_path, staff(5))
    assert run.status == "succeeded"
    assert run.counts["added"] == 5 and run.counts["marked"] == 5
    assert all(p.dirty for p in everyone(engine).values())
    assert events(engine, "1000")[0][0] == "joined"


def test_importing_the_same_data_twice_marks_nobody(engine, tmp_path):
    run_import(engine, tmp_path, staff(5))
    clean(engine)
    again = run_import(engine, tmp_path, staff(5))
    assert again.counts["unchanged"] == 5
    assert again.counts.get("marked", 0) == 0 and again.counts["changed"] == 0
    assert not any(p.dirty for p in everyone(engine).values())


def test_a_mover_is_the_only_one_marked_and_history_says_what_changed(engine, tmp_path):
    rows = staff(3)
    run_import(engine, tmp_path, rows)
    clean(engine)
    rows[1] = person("1001", Department="R&D", Job_Title="Engineer")
    run = run_import(engine, tmp_path, rows)
    assert run.counts["changed"] == 1 and run.counts["unchanged"] == 2
    marked = {eid for eid, p in everyone(engine).items() if p.dirty}
    assert marked == {"1001"}
    event, details = events(engine, "1001")[-1]
    assert event == "changed"
    assert details["fields"]["department"] == ["Finance", "Engineering"]  # mapped by fields.yaml
    assert details["fields"]["title"] == ["Analyst", "Engineer"]


def test_a_cosmetic_difference_the_mapping_erases_marks_nobody(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000", Department="R&D")])
    clean(engine)
    run = run_import(engine, tmp_path, [person("1000", Department="  Engineering ")])
    assert run.counts["unchanged"] == 1
    assert not stored(engine, "1000").dirty


def test_the_stored_person_holds_mapped_typed_values(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000", Work_Email=" Ana.Lee@Northwind.example ", Security_Level="4")])
    fields = stored(engine, "1000").fields
    assert fields["email"] == "ana.lee@northwind.example"
    assert fields["security_level"] == 4
    assert fields["hire_date"] == "2020-01-15"
    assert fields["location"] == "GB-LON"


def test_a_changed_attribute_map_re_reads_unchanged_rows(engine, tmp_path):
    import shutil

    from hr_export import MAPPINGS, write_csv

    from sync.rules import load_dir
    from sync.sources.csvfeed import CsvOptions, csv_feed
    from sync.sources.importer import ImportOptions, import_feed

    run_import(engine, tmp_path, [person("1000", Department="R&D"), person("1001")])
    clean(engine)
    edited = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, edited)
    fields = edited / "fields.yaml"
    fields.write_text(fields.read_text().replace("R&D: Engineering", "R&D: Research"))
    amap = load_dir(edited).attribute_map
    path = write_csv(tmp_path / "same.csv", [person("1000", Department="R&D"), person("1001")])
    run = import_feed(engine, csv_feed(path, "hr", "full", CsvOptions(), amap), amap,
                      ImportOptions(today=TODAY, force=True, rejects_dir=tmp_path))
    assert run.counts["changed"] == 1 and run.counts["unchanged"] == 1
    assert stored(engine, "1000").fields["department"] == "Research"


def test_a_new_pre_hire_lead_re_reads_unchanged_rows(engine, tmp_path):
    rows = [person("1000", Hire_Date="2026-06-20")]
    run_import(engine, tmp_path, rows)
    assert stored(engine, "1000").lifecycle == "pre_hire"
    run = run_import(engine, tmp_path, rows, prehire_lead_days=30)
    assert run.counts["changed"] == 1 and stored(engine, "1000").lifecycle == "active"
