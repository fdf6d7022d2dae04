"""evaluate(): groups, roles (highest wins), attributes, scope, explanations, the index."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_tables import table_files

from sync.rules import (
    PersonError,
    Role,
    RowRef,
    evaluate,
    load_tables,
    person_from_values,
)
from sync.rules.explain import explanation_to_dict

TABLES = load_tables(table_files())


def person(**values):
    base = {"employee_id": "7", "user_name": "pat@example.com"}
    return person_from_values({**base, **values}, TABLES.attribute_map)


def test_groups_follow_conditions_with_scim_semantics():
    account, _ = evaluate(person(department="finance", location="US-NYC", title="Senior Analyst",
                                 idp_groups=["bi admins"], hire_date="2020-05-01"), TABLES)
    # "finance" matches "Finance" and "bi admins" matches "BI Admins": SCIM strings are case-insensitive.
    assert account.groups == {"Everyone", "Finance", "Finance US", "Analysts", "Admins", "Veterans"}
    assert account.active is True


def test_date_condition_compares_dates_not_text():
    veteran, _ = evaluate(person(hire_date="2023-12-31"), TABLES)
    newcomer, _ = evaluate(person(hire_date="2024-01-02"), TABLES)
    assert "Veterans" in veteran.groups and "Veterans" not in newcomer.groups


def test_highest_role_wins_per_connection_and_model():
    account, explanation = evaluate(person(department="Finance", title="Analyst"), TABLES)
    assert account.roles == {("warehouse", "finance"): Role.MODELER}
    [reason] = explanation.roles
    assert [m.row for m in reason.rows] == [RowRef("roles.csv", 4)]
    assert [(lost.match.row.line, lost.role) for lost in reason.lost] == [(2, Role.VIEWER), (3, Role.QUERIER)]
    assert all(lost.beaten_by == RowRef("roles.csv", 4) for lost in reason.lost)
    assert reason.rows[0].inputs == {"department": "Finance", "title": "Analyst"}


def test_equal_roles_from_two_rows_are_both_named():
    _, explanation = evaluate(person(department="Finance", security_level=5), TABLES)
    [reason] = explanation.roles
    assert reason.role is Role.QUERIER
    assert [m.row.line for m in reason.rows] == [3, 5]
    assert [lost.match.row.line for lost in reason.lost] == [2]


def test_connection_admin_outranks_model_roles_on_its_connection():
    account, explanation = evaluate(person(department="Finance", idp_groups=["BI Admins"]), TABLES)
    assert account.roles == {("warehouse", None): Role.CONNECTION_ADMIN}
    by_key = {r.key: r for r in explanation.roles}
    model = by_key[("warehouse", "finance")]
    assert model.role is None
    assert {lost.match.row.line for lost in model.lost} == {2, 3}
    assert {lost.beaten_by for lost in model.lost} == {RowRef("roles.csv", 6)}


def test_attributes_from_lookup_constant_and_list_field():
    account, explanation = evaluate(person(cost_center="cc-200", security_level=4, department="Finance",
                                           location="US-NYC", idp_groups=["A", "B"]), TABLES)
    assert account.attributes == {"region": "EMEA", "clearance": "secret", "groups": ("A", "B"),
                                  "entities": ("Inc", "Holdings")}
    reasons = {a.attribute: a for a in explanation.attributes}
    [(region_match, region_values)] = reasons["region"].rows
    assert region_match.row == RowRef("attributes.csv", 2)
    # Lookup keys compare case-insensitively, as conditions do.
    assert region_values == (("EMEA", "lookups/regions.csv:3 (cost_center 'cc-200')"),)
    clearance = reasons["clearance"]
    assert [m.row.line for m, _ in clearance.rows] == [3]
    assert [(m.row.line, "came first" in why) for m, why in clearance.unused] == [(4, True)]


def test_missing_lookup_key_leaves_the_attribute_unset_and_says_why():
    account, explanation = evaluate(person(cost_center="CC-999"), TABLES)
    assert "region" not in account.attributes
    assert account.attributes["clearance"] == "public"
    region = next(a for a in explanation.attributes if a.attribute == "region")
    assert region.value is None and region.rows == ()
    [(match, why)] = region.unused
    assert match.row == RowRef("attributes.csv", 2) and match.inputs == {}
    assert why == "cost_center 'CC-999' is not in lookups/regions.csv (and it has no * row)"


def test_out_of_scope_person_is_inactive_with_nothing_and_the_reason():
    account, explanation = evaluate(person(status="terminated", department="Finance"), TABLES)
    assert (account.active, account.groups, dict(account.roles), dict(account.attributes)) == (False, frozenset(), {}, {})
    data = explanation_to_dict(explanation)
    assert data["scope"] == {"in_scope": False, "row": "scope.yaml:1", "when": 'status eq "active"',
                             "inputs": {"status": "terminated"}}


def test_every_result_carries_the_tables_version():
    account, explanation = evaluate(person(), TABLES)
    assert account.tables_version == explanation.tables_version == TABLES.version
    assert TABLES.version.startswith("sha256:")


def test_a_person_without_user_name_cannot_be_evaluated():
    nameless = person_from_values({"employee_id": "8"}, TABLES.attribute_map)
    with pytest.raises(PersonError, match="user_name"):
        evaluate(nameless, TABLES)


def test_explanation_json_names_rows_and_inputs():
    _, explanation = evaluate(person(department="Finance", location="US-SFO"), TABLES)
    groups = {g["group"]: g["rows"] for g in explanation_to_dict(explanation)["groups"]}
    assert groups["Finance US"] == [{"row": "groups.csv:4", "when": 'department eq "Finance" and location sw "US"',
                                     "inputs": {"department": "Finance", "location": "US-SFO"}}]


WORDS = st.sampled_from(["Finance", "finance", "Sales", "US-NYC", "GB-LON", "Analyst", "BI Admins", "x"])


@settings(max_examples=200, deadline=None)
@given(department=WORDS, title=WORDS, location=WORDS, groups=st.lists(WORDS, max_size=3),
       level=st.integers(0, 6), hired=st.dates(dt.date(2015, 1, 1), dt.date(2030, 1, 1)))
def test_index_finds_exactly_the_rules_a_full_scan_finds(department, title, location, groups, level, hired):
    values = person(department=department, title=title, location=location, idp_groups=groups,
                    security_level=level, hire_date=hired.isoformat()).fields
    everything = [r for r in TABLES.index.rules if r.when.test(values)]
    assert list(TABLES.index.matching(values)) == everything


def test_accounts_and_people_are_read_only_values():
    someone = person(department="Finance")
    account, _ = evaluate(someone, TABLES)
    with pytest.raises(TypeError):
        account.roles[("warehouse", "finance")] = Role.MODELER
    with pytest.raises(TypeError):
        someone.fields["department"] = "Sales"
