"""Property: for grammar-shaped filters that parse, the SQL translator (``scim.query``)
selects exactly the users the Python evaluator (``scim.matching.matches``) accepts.
Strategies and helpers are test_fuzz.py's."""

from __future__ import annotations

import random
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from test_fuzz import _create, any_case, logical, operators, quoted, send

from scim.errors import InvalidFilter
from scim.filters import Present, parse_filter
from scim.matching import lookup, matches
from scim.schema import (
    ENTERPRISE_USER,
    USER,
)

# --- the SQL translator agrees with the Python evaluator --------------------------------

FIRST = ("Ada", "bob", "Chloe", "DAVE", "Eve", "Frank", "Grace", "heidi", "Ivan", "Judy")
LAST = ("Lovelace", "o'Neil", "Smith", "smith-jones", "Zed", "50%_off", "a/b", "Back\\slash")
TITLES = ("Engineer", "senior engineer", "CFO", "Analyst_2", "", None)
DEPARTMENTS = ("Finance", "finance", "R&D", "Sales/EMEA", None)
EMAIL_TYPES = ("work", "home", "Other", None)


def seeded_users(count: int = 20) -> list[dict[str, Any]]:
    """Varied ASCII users: present and absent attributes, mixed case, LIKE metacharacters."""
    rng = random.Random(20261123)
    users = []
    for n in range(count):
        given, family = rng.choice(FIRST), rng.choice(LAST)
        user: dict[str, Any] = {
            "schemas": [USER, ENTERPRISE_USER], "userName": f"{given}.{family}{n}@Example.com",
            "active": rng.random() < 0.7, "name": {"givenName": given, "familyName": family},
        }
        if rng.random() < 0.8:
            user["displayName"] = f"{given} {family}"
        title = rng.choice(TITLES)
        if title is not None:
            user["title"] = title
        emails = []
        for k in range(rng.randint(0, 3)):
            email = {"value": f"{given}{k}@{rng.choice(['corp.example', 'HOME.example', 'x_y.org'])}"}
            kind = rng.choice(EMAIL_TYPES)
            if kind is not None:
                email["type"] = kind
            emails.append(email)
        if emails and rng.random() < 0.6:
            rng.choice(emails)["primary"] = True
        if emails:
            user["emails"] = emails
        department = rng.choice(DEPARTMENTS)
        employee_number = rng.choice([f"E{n:03d}", f"e{n:03d}", None])
        enterprise = {k: v for k, v in (("department", department), ("employeeNumber", employee_number)) if v}
        if enterprise:
            user[ENTERPRISE_USER] = enterprise
        users.append(user)
    return users


SEEDED = seeded_users()
STRING_PATHS = ("userName", "displayName", "title", "name.givenName", "name.familyName",
                "emails.value", "emails.type", f"{ENTERPRISE_USER}:department",
                f"{ENTERPRISE_USER}:employeeNumber")
BOOLEAN_PATHS = ("active", "emails.primary")


def _seeded_values(path: str) -> list[str]:
    """The strings the seeded users hold at ``path``, so literals often hit (or nearly hit)."""
    where = parse_filter(f"{path} pr")
    assert isinstance(where, Present)
    found = {v for user in SEEDED for v in _as_list(lookup(user, where.path)) if isinstance(v, str)}
    return sorted(found) or [""]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _fragment(text: str) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, len(text)), st.integers(0, len(text))).map(
        lambda ab: text[min(ab):max(ab)] if ab[0] != ab[1] else text)


def ascii_literals(source: str) -> st.SearchStrategy[str]:
    near_values = st.sampled_from(_seeded_values(source)).flatmap(_fragment).flatmap(any_case)
    printable = st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\')
    return st.one_of(near_values, near_values, st.text(printable, max_size=6)).map(quoted)


def compare_leaf(path: str, source: str | None = None) -> st.SearchStrategy[str]:
    """``path op "literal"`` or ``path pr``; literals come from the values at ``source``."""
    compare = st.tuples(st.just(path), operators, ascii_literals(source or path)).map(" ".join)
    return st.one_of(compare, st.just(f"{path} pr"))


def boolean_leaf(path: str) -> st.SearchStrategy[str]:
    literal = st.sampled_from(["true", "false"])
    return st.one_of(st.tuples(st.just(path), st.sampled_from(["eq", "ne"]), literal).map(" ".join),
                     st.just(f"{path} pr"))


element_filters = st.recursive(
    st.one_of(compare_leaf("value", "emails.value"), compare_leaf("type", "emails.type"),
              boolean_leaf("primary")),
    logical, max_leaves=3,
)
typed_leaves = st.one_of(
    st.sampled_from(STRING_PATHS).flatmap(lambda path: any_case(path).flatmap(
        lambda cased: compare_leaf(cased, path))),
    st.sampled_from(BOOLEAN_PATHS).flatmap(boolean_leaf),
    element_filters.map(lambda f: f"emails[{f}]"),
    st.tuples(element_filters, st.sampled_from(["value", "type"]).flatmap(
        lambda sub: compare_leaf(sub, f"emails.{sub}"))).map(
        lambda t: f"emails[{t[0]}].{t[1]}"),
)
typed_filters = st.recursive(typed_leaves, logical, max_leaves=5)


def test_sql_filter_selects_what_the_python_evaluator_matches(client: FlaskClient,
                                                               auth: dict[str, str]) -> None:
    for user in SEEDED:
        _create(client, auth, "Users", user)
    listed = client.get("/scim/v2/Users", headers=auth, query_string={"count": 1000}).get_json()
    stored = listed["Resources"]
    assert len(stored) == len(SEEDED)

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text=typed_filters)
    def check(text: str) -> None:
        try:
            node = parse_filter(text)
        except InvalidFilter:
            assume(False)
        response = send(client, "GET", "/Users", headers=auth, query={"filter": text, "count": "1000"})
        assert response.status_code == 200
        by_sql = {r["id"] for r in response.get_json()["Resources"]}
        by_python = {r["id"] for r in stored if matches(node, r)}
        note(f"parsed: {node}")
        assert by_sql == by_python, {
            "only SQL": [r["userName"] for r in stored if r["id"] in by_sql - by_python],
            "only Python": [r["userName"] for r in stored if r["id"] in by_python - by_sql],
        }

    check()
