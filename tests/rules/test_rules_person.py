"""Building a Person from an HR row, a SCIM resource and by hand; merging by precedence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from rules_tables import FIELDS, table_files

from sync.rules import (
    PersonError,
    load_dir,
    load_tables,
    merge_people,
    person_from_hr_row,
    person_from_scim,
    person_from_values,
)

AMAP = load_tables(table_files()).attribute_map
SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

HR_ROW = {"Employee ID": " 42 ", "Email": " Pat@Example.COM ", "Department": "Finance", "Title": "Analyst",
          "Location": "US-NYC", "Cost Center": " cc-100 ", "Level": "4", "Hire Date": "03/15/2022", "Status": ""}

SCIM_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "userName": "PSmith@example.com", "title": "Lead Analyst",
    ENTERPRISE: {"department": "Treasury"},
    "groups": [{"value": "g1", "display": "BI Admins"}, {"value": "g2", "display": "Everyone"}],
}


def test_hr_row_is_transformed_and_typed():
    person = person_from_hr_row(HR_ROW, AMAP)
    assert person["employee_id"] == " 42 "  # transforms run only where declared: no trim here
    assert person["user_name"] == "pat@example.com"
    assert person["cost_center"] == "CC-100"
    assert person["security_level"] == 4 and isinstance(person["security_level"], int)
    assert person["hire_date"] == dt.date(2022, 3, 15)
    assert person["status"] == "active" and person.sources["status"] == "default"
    assert person["idp_groups"] == ()


def test_hr_row_missing_a_mapped_column_fails_loudly():
    row = {k: v for k, v in HR_ROW.items() if k != "Level"}
    with pytest.raises(PersonError, match="no column 'Level'"):
        person_from_hr_row(row, AMAP)


def test_hr_value_that_does_not_fit_its_type_is_a_person_error():
    with pytest.raises(PersonError) as caught:
        person_from_hr_row({**HR_ROW, "Hire Date": "someday"}, AMAP)
    assert caught.value.field == "hire_date"


def test_scim_resource_reads_core_enterprise_and_group_paths():
    person = person_from_scim(SCIM_USER, AMAP)
    assert person["user_name"] == "psmith@example.com"
    assert person["department"] == "Treasury"
    assert person["idp_groups"] == ("BI Admins", "Everyone")
    assert person["cost_center"] is None  # no SCIM source declared: None, never ""


def test_merge_takes_the_preferred_source_per_field():
    merged = merge_people(person_from_hr_row(HR_ROW, AMAP), person_from_scim(SCIM_USER, AMAP), AMAP)
    assert merged["user_name"] == "psmith@example.com"  # prefer: idp
    assert merged["department"] == "Finance"  # prefer: hr (the default)
    assert merged["title"] == "Analyst"
    assert merged["idp_groups"] == ("BI Admins", "Everyone")  # only the IdP has it
    assert merged.sources["user_name"] == "idp" and merged.sources["department"] == "hr"


def test_merge_falls_back_to_the_other_source_and_then_the_default():
    hr = person_from_hr_row({**HR_ROW, "Department": "  "}, AMAP)
    merged = merge_people(hr, person_from_scim(SCIM_USER, AMAP), AMAP)
    assert merged["department"] == "Treasury"
    only_idp = merge_people(None, person_from_scim(SCIM_USER, AMAP), AMAP)
    assert only_idp["security_level"] == 1 and only_idp.sources["security_level"] == "default"


def test_values_by_hand_are_typed_and_unknown_fields_rejected():
    person = person_from_values({"user_name": "x", "security_level": "2.5", "hire_date": "2020-01-02"}, AMAP)
    assert person["security_level"] == Decimal("2.5")
    assert person["hire_date"] == dt.date(2020, 1, 2)
    with pytest.raises(PersonError, match="no such person field"):
        person_from_values({"departmnet": "Sales"}, AMAP)


def test_shipped_attribute_map_reads_a_workday_style_row_and_an_entra_user():
    amap = load_dir(SHIPPED).attribute_map
    row = {"Employee ID": "E1", "Work Email": "A@N.example", "Preferred First Name": "", "Legal First Name": "Ann",
           "Last Name": "Lee", "Department": "Human Resources", "Job Title": "Recruiter", "Location": "London",
           "Cost Center": "cc-6100", "Security Level": "", "Manager ID": "", "Worker Status": "On Leave",
           "Worker Type": "Contingent", "Hire Date": "2023-02-01", "Termination Date": ""}
    hr = person_from_hr_row(row, amap)
    assert (hr["given_name"], hr["department"], hr["location"]) == ("Ann", "People", "GB-LON")
    assert (hr["employment_status"], hr["employment_type"]) == ("leave", "contractor")
    entra = {"userName": "ann.lee@n.example", "active": "False", "emails": [
        {"value": "other@n.example", "primary": False}, {"value": "Ann.Lee@N.example", "primary": True}]}
    idp = person_from_scim(entra, amap)
    assert idp["email"] == "ann.lee@n.example" and idp["idp_active"] is False


def test_split_turns_one_hr_cell_into_a_list_and_later_steps_apply_to_each_value():
    fields = FIELDS + '  teams: {type: list, hr: Teams, idp: "groups.display", transforms: [{split: ";"}, upper]}\n'
    amap = load_tables(table_files({"fields.yaml": fields})).attribute_map
    hr = person_from_hr_row({**HR_ROW, "Teams": " data; bi ;; ops"}, amap)
    assert hr["teams"] == ("DATA", "BI", "OPS")
    idp = person_from_scim({"groups": [{"display": "a;b"}, {"display": "c"}]}, amap)
    assert idp["teams"] == ("A", "B", "C")


def test_hr_reader_compiled_per_map_gives_the_general_paths_answers():
    # person_from_hr_row compiles each attribute map once; these rows take its other paths:
    # several columns, API values that arrive typed, and a second map in between.
    shipped = load_dir(SHIPPED).attribute_map
    row = {"Employee ID": 7, "Work Email": " A@B.example ", "Preferred First Name": " ", "Legal First Name": " Jo ",
           "Last Name": "X", "Department": "R&D", "Job Title": "", "Location": "Berlin", "Cost Center": "cc-1",
           "Security Level": 3, "Manager ID": "", "Worker Status": "On Leave", "Worker Type": "Contingent",
           "Hire Date": "2024-03-01", "Termination Date": ""}
    person = person_from_hr_row(row, shipped)
    assert person_from_hr_row(HR_ROW, AMAP)["user_name"] == "pat@example.com"
    again = person_from_hr_row(row, shipped)
    assert person == again and dict(person.sources) == dict(again.sources)
    assert person["employee_id"] == "7" and person["given_name"] == "Jo" and person["security_level"] == 3
    assert person["department"] == "Engineering" and person["employment_status"] == "leave"
    assert person["title"] is None and person.sources.get("title") is None
    assert person["hire_date"] == dt.date(2024, 3, 1) and person["termination_date"] is None
