"""The compiled conditions and the index agree with scim.filters.matches, the reference."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from rules_tables import table_files

from scim.matching import matches
from sync.rules import load_tables

CONDITIONS = [
    '*', 'department eq "Finance"', 'department ne "Finance"', 'department co "an"', 'department sw "fin"',
    'department ew "ce"', 'department gt "M"', 'department pr', 'not (department pr)', 'department eq null',
    'title co "Analyst" and security_level ge 3', 'title sw "Senior" and hire_date lt "2024-01-01"',
    'title sw "senior" and (location eq "US-NYC" or idp_groups eq "BI Admins")',
    'department eq "Finance" and location sw "US"', 'location eq "US-NYC" or cost_center eq "CC-100"',
    'idp_groups eq "BI Admins"', 'idp_groups co "admin"', 'idp_groups ne "BI Admins"', 'idp_groups pr',
    'security_level gt 2', 'security_level le 2 or security_level eq 5', 'security_level ne 3',
    'hire_date ge "2022-06-01"', 'hire_date eq "2023-01-15"', 'hire_date pr', 'hire_date ne "2023-01-15"',
    'not (title co "Analyst") and department eq "Sales"', 'status eq "active" and not (idp_groups pr)',
    'department eq "5"', 'department sw "5" and title pr',
]
GROUPS = "when,group\n" + "".join(f'"{c.replace(chr(34), chr(34) * 2)}",G{i}\n' for i, c in enumerate(CONDITIONS))
TABLES = load_tables(table_files({"groups.csv": GROUPS}))
RULES = [r for r in TABLES.index.rules if r.row.file == "groups.csv"]

TEXT = st.sampled_from(["Finance", "finance", "FINANCE", "Sales", "Senior Analyst", "senior engineer",
                        "US-NYC", "us-sfo", "", "BI Admins", "bi admins", "CC-100", "Ünïcode"])
OPTIONAL_TEXT = st.none() | TEXT
# Values of the declared types, plus a few that are not (a datetime in a date field, a str
# number): the compiled code must hand those to matches and agree with it.
LEVEL = st.none() | st.integers(-1, 6) | st.decimals(0, 6, places=1) | st.sampled_from(["3", True])
HIRED = st.none() | st.dates(dt.date(2020, 1, 1), dt.date(2026, 1, 1)) | st.just(dt.datetime(2023, 1, 15, 9, 30))
GROUPS_VALUE = st.lists(TEXT, max_size=3).map(tuple) | st.just(("BI Admins", 7)) | st.just(["bi admins"])


@settings(max_examples=400, deadline=None)
@given(department=OPTIONAL_TEXT | st.just(5), title=OPTIONAL_TEXT, location=OPTIONAL_TEXT, cost_center=OPTIONAL_TEXT,
       status=OPTIONAL_TEXT, level=LEVEL, hired=HIRED, groups=GROUPS_VALUE)
def test_compiled_conditions_and_index_agree_with_matches(department, title, location, cost_center, status,
                                                          level, hired, groups):
    values = {"department": department, "title": title, "location": location, "cost_center": cost_center,
              "status": status, "security_level": level, "hire_date": hired, "idp_groups": groups}
    expected = [r for r in RULES if r.when.node is None or matches(r.when.node, values)]
    assert [r for r in RULES if r.when.test(values)] == expected
    assert [r for r in TABLES.index.matching(values) if r.row.file == "groups.csv"] == expected


def test_the_index_uses_keys_and_guards_not_a_full_scan():
    index = TABLES.index
    assert index.keyed["department"]["finance"] and index.keyed["idp_groups"]["bi admins"]
    assert {(g.field, g.op, g.literal) for g in index.guards} >= {("title", "co", "analyst"), ("title", "sw", "senior")}
    assert len(index.scan) < len(index.rules) / 2

