"""``hr2bi mappings ...`` through click's CliRunner, on the shipped tables and on temp copies."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from rules_tables import GROUPS, ROLES, write_tables

from sync.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
ANALYST = {"employee_id": "1001", "user_name": "ana@northwind.example", "department": "Finance",
           "title": "Financial Analyst", "location": "US-NYC", "cost_center": "CC-1100"}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["mappings", *args], env=env)


def test_check_passes_on_the_shipped_tables():
    result = run("check", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_directory_defaults_to_the_environment_variable(tmp_path):
    write_tables(tmp_path, {"groups.csv": GROUPS + "nobody pr,X\n"})
    result = run("check", env={"HR2BI_MAPPINGS_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "groups.csv:8: unknown person field 'nobody'" in result.output


def test_check_prints_every_problem_and_exits_1(tmp_path):
    write_tables(tmp_path, {"groups.csv": GROUPS + "*,\n", "roles.csv": ROLES + "*,warehouse,,VIEWER\n"})
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "groups.csv:8: the group name is empty" in result.output
    assert "roles.csv:7: VIEWER needs a model" in result.output
    assert "2 problem(s) found" in result.output
    assert "Traceback" not in result.output


def test_check_of_a_missing_directory_is_a_clear_error(tmp_path):
    result = run("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no such directory" in result.output


def test_golden_cases_pass_on_the_shipped_tables():
    result = run("test", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output
    assert result.output.count("PASS ") >= 10


def test_failing_case_shows_a_readable_diff(tmp_path):
    shutil.copytree(SHIPPED, tmp_path / "m")
    roles = (tmp_path / "m" / "roles.csv").read_text().replace(
        'department eq "Finance" and title co "Analyst",warehouse,finance,MODELER',
        'department eq "Finance" and title co "Analyst",warehouse,finance,QUERIER')
    (tmp_path / "m" / "roles.csv").write_text(roles)
    result = run("test", str(tmp_path / "m"))
    assert result.exit_code == 1
    assert "FAIL Finance analyst in New York models the finance model (cases.yaml:6)" in result.output
    assert "roles: warehouse/finance: expected MODELER, got QUERIER" in result.output


def test_case_naming_an_unknown_field_is_reported_with_its_line(tmp_path):
    write_tables(tmp_path)
    (tmp_path / "cases.yaml").write_text("cases:\n  - name: x\n    person:\n      user_name: a\n      dept: Sales\n")
    result = run("test", str(tmp_path))
    assert result.exit_code == 1
    assert "cases.yaml:5: field 'dept': no such person field" in result.output


def test_explain_a_person_file_names_rows_and_losers(tmp_path):
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(ANALYST))
    result = run("explain", "--person", str(path), "--dir", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert "warehouse/finance: MODELER" in result.output
    assert "lost: QUERIER roles.csv:14" in result.output
    assert "<- groups.csv:10 [department eq \"Finance\" and location sw \"US\"]" in result.output


def test_explain_json_is_data(tmp_path):
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(ANALYST))
    result = run("explain", "--person", str(path), "--dir", str(SHIPPED), "--json")
    data = json.loads(result.output)
    assert data["account"]["roles"]["warehouse/finance"] == "MODELER"
    assert data["account"]["attributes"]["region"] == "AMER"
    region = next(a for a in data["explanation"]["attributes"] if a["attribute"] == "region")
    assert region["rows"][0]["values"] == [{"value": "AMER", "from": "lookups/cost_center_regions.csv:3 (cost_center 'CC-1100')"}]


def test_explain_accepts_a_scim_user_resource(tmp_path):
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "z@n.example",
                                "groups": [{"value": "1", "display": "BI Admins"}]}))
    result = run("explain", "--person", str(path), "--dir", str(SHIPPED), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["account"]["roles"]["warehouse"] == "CONNECTION_ADMIN"


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"user_name": "a", "dept": "Sales"}', "no such person field"),
    ('"just text"', "expected a person object"),
])
def test_explain_bad_person_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    result = run("explain", "--person", str(path), "--dir", str(SHIPPED))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_explain_needs_exactly_one_person():
    assert run("explain", "--dir", str(SHIPPED)).exit_code == 2


def test_impact_between_two_directories(tmp_path):
    old = write_tables(tmp_path / "old")
    new = write_tables(tmp_path / "new", {"roles.csv": ROLES.replace("Analyst\",warehouse,finance,MODELER",
                                                                     "Analyst\",warehouse,finance,QUERIER")})
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"people": [
        {"employee_id": "1", "user_name": "a@x", "department": "Finance", "title": "Analyst"},
        {"employee_id": "2", "user_name": "b@x", "department": "Sales"}]}))
    result = run("impact", "--against", str(old), "--dir", str(new), "--people", str(people), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["people"] == [{"person": "1 (a@x)", "error": None, "changes": [
        {"kind": "role", "name": "warehouse/finance", "before": "MODELER", "after": "QUERIER"}]}]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x", *args],
                   check=True, capture_output=True)


def test_impact_against_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    tables = write_tables(repo / "mappings")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "tables")
    (tables / "groups.csv").write_text(GROUPS + 'department eq "Sales",Sales\n')
    people = tmp_path / "people.json"
    people.write_text(json.dumps([{"employee_id": "2", "user_name": "b@x", "department": "Sales"},
                                  {"employee_id": "3", "user_name": "c@x", "department": "Legal"}]))
    result = run("impact", "--against", "HEAD", "--dir", str(tables), "--people", str(people))
    assert result.exit_code == 0, result.output
    assert "1 of 2 people change" in result.output
    assert "2 (b@x):\n  gains group Sales" in result.output


def test_impact_against_an_unknown_revision_is_a_clear_error(tmp_path):
    repo = tmp_path / "repo"
    tables = write_tables(repo / "mappings")
    git(repo, "init", "-q")
    people = tmp_path / "people.json"
    people.write_text("[]")
    result = run("impact", "--against", "no-such-rev", "--dir", str(tables), "--people", str(people))
    assert result.exit_code == 1
    assert "'no-such-rev' is not a git revision" in result.output and "Traceback" not in result.output


def test_impact_against_a_revision_without_the_tables_is_a_clear_error(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README").write_text("x")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "before the tables")
    tables = write_tables(repo / "mappings")
    people = tmp_path / "people.json"
    people.write_text("[]")
    result = run("impact", "--against", "HEAD", "--dir", str(tables), "--people", str(people))
    assert result.exit_code == 1
    assert "mappings does not exist at git revision HEAD" in result.output


def test_check_also_validates_the_golden_cases(tmp_path):
    write_tables(tmp_path)
    (tmp_path / "cases.yaml").write_text("cases:\n  - name: x\n    person: {user_name: a}\n"
                                         "    expect: {roles: {warehouse/finance: OWNER}}\n")
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "cases.yaml:4: unknown role 'OWNER'" in result.output


def test_explain_json_of_several_people_is_one_list(tmp_path):
    path = tmp_path / "people.json"
    path.write_text(json.dumps([ANALYST, {**ANALYST, "employee_id": "1002", "user_name": "b@northwind.example"}]))
    result = run("explain", "--person", str(path), "--dir", str(SHIPPED), "--json")
    assert [d["account"]["employee_id"] for d in json.loads(result.output)] == ["1001", "1002"]


def test_explain_shows_where_each_person_value_came_from(tmp_path):
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(ANALYST))
    data = json.loads(run("explain", "--person", str(path), "--dir", str(SHIPPED), "--json").output)
    fields = data["explanation"]["fields"]
    assert fields["department"] == {"value": "Finance", "source": "given"}
    assert fields["employment_type"] == {"value": "employee", "source": "default"}
