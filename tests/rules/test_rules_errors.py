"""Table errors: each kind reported at the right file and line, all of them at once."""

from __future__ import annotations

import pytest
from rules_tables import ATTRIBUTES, FIELDS, GROUPS, ROLES, write_tables

from sync.rules import TableErrors, load_dir


def problems_of(tmp_path, changes):
    with pytest.raises(TableErrors) as caught:
        load_dir(write_tables(tmp_path, changes))
    return caught.value.problems


def only(tmp_path, changes):
    """The single problem the change causes, as (file, line, message)."""
    [problem] = problems_of(tmp_path, changes)
    return problem


ERRORS = {
    "bad condition syntax": (
        {"groups.csv": GROUPS + 'department eq "Sales" and,Sales\n'}, "groups.csv", 8, "bad condition"),
    "unknown person field": (
        {"groups.csv": GROUPS + 'departmnet eq "Sales",Sales\n'}, "groups.csv", 8, "unknown person field 'departmnet'"),
    "value that does not fit the field's type": (
        {"groups.csv": GROUPS + 'hire_date lt "last year",Old\n'}, "groups.csv", 8, "is not a date"),
    "unknown role": (
        {"roles.csv": ROLES + '*,warehouse,sales,SUPERUSER\n'}, "roles.csv", 7, "unknown role 'SUPERUSER'"),
    "empty group name": (
        {"groups.csv": GROUPS + 'title pr,\n'}, "groups.csv", 8, "the group name is empty"),
    "group name over Omni's 64 characters": (
        {"groups.csv": GROUPS + "*," + "G" * 65 + "\n"}, "groups.csv", 8, "65 characters long"),
    "duplicate row": (
        {"groups.csv": GROUPS + 'department  eq "Finance",Finance\n'}, "groups.csv", 8, "duplicate row: the same as line 3"),
    "contradictory rows": (
        {"roles.csv": ROLES + 'department eq "Finance",warehouse,finance,VIEWER\n'}, "roles.csv", 7, "contradicts line 3"),
    "model missing for a model role": (
        {"roles.csv": ROLES + '*,warehouse,,QUERIER\n'}, "roles.csv", 7, "QUERIER needs a model"),
    "model given for CONNECTION_ADMIN": (
        {"roles.csv": ROLES + '*,warehouse,finance,CONNECTION_ADMIN\n'}, "roles.csv", 7, "whole connection"),
    "wrong number of cells": (
        {"groups.csv": GROUPS + 'title eq "VP, Sales",Executives\n'}, "groups.csv", 8, "has 3 cells but the header has 2"),
    "unterminated quote": (
        {"roles.csv": ROLES + '"title eq ""x"",warehouse,finance,VIEWER\n'}, "roles.csv", 7, "unterminated quote"),
    "missing required column": (
        {"groups.csv": "when\n*\n"}, "groups.csv", 1, "lacks the column 'group'"),
    "unknown lookup table": (
        {"attributes.csv": ATTRIBUTES + "*,office,lookup,offices(location),\n"}, "attributes.csv", 7,
        "unknown lookup table 'offices'"),
    "lookup key missing from its table": (
        {"attributes.csv": ATTRIBUTES + 'cost_center eq "CC-300",area,lookup,regions(cost_center),\n'},
        "attributes.csv", 7, "the key 'CC-300' is missing from the lookup table lookups/regions.csv"),
    "single-valued attribute from a multi-valued lookup": (
        {"attributes.csv": ATTRIBUTES + "*,entity,lookup,entities(location),\n"}, "attributes.csv", 7,
        "entity is single-valued"),
    "list field into a single-valued attribute": (
        {"attributes.csv": ATTRIBUTES + "*,first_group,field,idp_groups,\n"}, "attributes.csv", 7, "holds several values"),
    "unknown transform": (
        {"fields.yaml": FIELDS + "  office:\n    hr: Office\n    transforms: [trim, titlecase]\n"}, "fields.yaml", 14,
        "unknown transform 'titlecase'"),
    "unknown field type": (
        {"fields.yaml": FIELDS + "  office:\n    hr: Office\n    type: text\n"}, "fields.yaml", 14, "unknown type 'text'"),
    "key written twice in YAML": (
        {"scope.yaml": 'when: status eq "active"\nwhen: "*"\n'}, "scope.yaml", 2, "the key 'when' is written twice"),
    "invalid YAML": (
        {"scope.yaml": 'when: [status eq "active"\n'}, "scope.yaml", 2, "is not valid YAML"),
    "bad SCIM attribute path": (
        {"fields.yaml": FIELDS + "  office:\n    idp: 'addresses[type eq \"work\"'\n"}, "fields.yaml", 13,
         "is not a SCIM attribute path"),
}


@pytest.mark.parametrize("kind", ERRORS)
def test_each_kind_of_error_names_its_file_and_line(tmp_path, kind):
    changes, file, line, message = ERRORS[kind]
    problem = only(tmp_path, changes)
    assert (problem.file, problem.line) == (file, line), str(problem)
    assert message in problem.message
    assert problem.hint  # every problem says how to fix it
    assert str(problem).startswith(f"{file}:{line}: ")


def test_all_problems_are_reported_together_in_file_order(tmp_path):
    problems = problems_of(tmp_path, {
        "groups.csv": GROUPS + 'departmnet eq "Sales",Sales\n*,\n',
        "roles.csv": ROLES + '*,warehouse,sales,SUPERUSER\n*,warehouse,,VIEWER\n',
        "attributes.csv": ATTRIBUTES + "*,office,lookup,offices(location),\n",
        "lookups/regions.csv": REGIONS_WITH_DUPLICATE,
    })
    assert [(p.file, p.line) for p in problems] == [
        ("attributes.csv", 7), ("groups.csv", 8), ("groups.csv", 9),
        ("lookups/regions.csv", 4), ("roles.csv", 7), ("roles.csv", 8),
    ]


REGIONS_WITH_DUPLICATE = "key,value\nCC-100,AMER\n# comment lines are skipped but counted\nCC-100,AMER\n"


def test_one_row_with_several_mistakes_reports_each(tmp_path):
    problems = problems_of(tmp_path, {"roles.csv": ROLES + 'titel pr,,,ADMIN\n'})
    messages = [p.message for p in problems]
    assert [p.line for p in problems] == [7, 7, 7]
    assert any("unknown person field 'titel'" in m for m in messages)
    assert any("unknown role 'ADMIN'" in m for m in messages)
    assert any("the connection is empty" in m for m in messages)


def test_a_missing_table_file_is_reported_without_a_line(tmp_path):
    write_tables(tmp_path)
    (tmp_path / "roles.csv").unlink()
    with pytest.raises(TableErrors) as caught:
        load_dir(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "roles.csv: is missing: create it (mappings/README.md describes each file)"]


def test_broken_fields_yaml_stops_before_checking_conditions_against_nothing(tmp_path):
    problems = problems_of(tmp_path, {"fields.yaml": "fields: [oops\n", "groups.csv": GROUPS + "nobody pr,X\n"})
    assert [(p.file, p.line) for p in problems] == [("fields.yaml", 2)]


def test_comments_and_blank_lines_keep_line_numbers_exact(tmp_path):
    groups = "# groups\n\nwhen,group\n\n# finance\ndepartment eq \"Finance\",Finance\n*,\n"
    assert only(tmp_path, {"groups.csv": groups}).line == 7


def test_rows_differing_only_in_letter_case_are_duplicates(tmp_path):
    # Conditions and group names compare case-insensitively, so these two rows are one.
    problem = only(tmp_path, {"groups.csv": GROUPS + 'DEPARTMENT eq "finance",finance\n'})
    assert (problem.line, problem.message) == (8, "duplicate row: the same as line 3")
