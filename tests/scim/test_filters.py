"""The filter language as a pure function: parsing, precedence, evaluation, paths."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scim.errors import InvalidFilter
from scim.filters import (
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    parse_filter,
)
from scim.matching import matches
from scim.paths import parse_path

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_every_comparison_operator_parses() -> None:
    for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"):
        assert parse_filter(f'title {op} "x"') == Compare(AttrPath("title"), op, "x")
    assert parse_filter("title pr") == Present(AttrPath("title"))


def test_operators_and_keywords_are_case_insensitive() -> None:
    assert parse_filter('userName EQ "a" AND title Pr') == And(
        Compare(AttrPath("userName"), "eq", "a"), Present(AttrPath("title")))


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Present(AttrPath(n)) for n in "abc")
    assert parse_filter("a pr or b pr and c pr") == Or(a, And(b, c))
    assert parse_filter("a pr and b pr or c pr") == Or(And(a, b), c)
    assert parse_filter("(a pr or b pr) and c pr") == And(Or(a, b), c)
    assert parse_filter("not (a pr or b pr) and c pr") == And(Not(Or(a, b)), c)


def test_literals_keep_their_json_types() -> None:
    assert parse_filter("n gt 1234").value == 1234
    assert parse_filter("n gt -7").value == -7
    assert parse_filter("n ge 2.5").value == Decimal("2.5")
    assert parse_filter("n lt 1e3").value == Decimal("1000")
    assert parse_filter("active eq true").value is True
    assert parse_filter('active eq "true"').value == "true"
    assert parse_filter("manager eq null").value is None
    assert parse_filter(r'name eq "caf\u00e9"').value == "café"


def test_value_paths_and_extension_urns() -> None:
    node = parse_filter('emails[type eq "work" and primary eq true]')
    assert node == ValuePath(AttrPath("emails"), And(
        Compare(AttrPath("type"), "eq", "work"), Compare(AttrPath("primary"), "eq", True)))
    trailing = parse_filter('emails[type eq "work"].value co "@x"')
    assert trailing == ValuePath(AttrPath("emails"), And(
        Compare(AttrPath("type"), "eq", "work"), Compare(AttrPath("value"), "co", "@x")))
    assert parse_filter(f'{ENT}:department eq "Sales"').path == AttrPath("department", None, ENT)


@pytest.mark.parametrize("text", [
    "", "   ", "userName eq", 'userName zz "a"', "((", 'a eq "x" and', "a gt true",
    "a lt null", "a eq --1", "a eq 1.2.3", 'userName eq "x" extra', "[", 'emails[type eq "w"', "x" * 5000,
])
def test_malformed_filters_raise_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.status == 400 and caught.value.to_body()["scimType"] == "invalidFilter"


PERSON = {
    "userName": "Bjensen@Example.com",
    "title": "Tour Guide",
    "active": True,
    "level": 12,
    "hired": dt.date(2023, 5, 1),
    "emails": [{"value": "b@work.com", "type": "work", "primary": True},
               {"value": "b@home.com", "type": "home"}],
    "groups": ("BI Admins", "Finance"),
    ENT: {"department": "Sales"},
}


@pytest.mark.parametrize("text,expected", [
    ('username eq "bjensen@example.com"', True),   # names and strings case-insensitive
    ('userName ne "someone"', True),
    ('title co "our"', True),
    ('title sw "tour"', True),
    ('title ew "GUIDE"', True),
    ('title gt "A"', True),
    ("nickName pr", False),
    ("title pr", True),
    ("active eq true", True),
    ("active eq false", False),
    ("level ge 12", True),
    ("level gt 12", False),
    ("level lt 100", True),                        # numbers compare as numbers, not text
    ('hired lt "2024-01-01"', True),                # dates compare as dates
    ('hired ge "2023-05-02"', False),
    ('emails[type eq "work" and primary eq true]', True),
    ('emails[type eq "home" and primary eq true]', False),
    ('emails.value ew "home.com"', True),           # any value of a multi-valued attribute
    ('groups eq "finance"', True),
    (f'{ENT}:department eq "sales"', True),
    ('not (title pr) or level eq 12', True),
    ("manager eq null", True),
    ("manager ne null", False),
    ("title ne null", True),
    ("level gt 11.5", True),
    ("level lt -3", False),
])
def test_matches_has_scim_semantics(text: str, expected: bool) -> None:
    assert matches(parse_filter(text), PERSON) is expected


def test_ne_null_means_has_a_value_whatever_the_value_says() -> None:
    assert matches(parse_filter("title ne null"), {"title": "None"}) is True
    assert matches(parse_filter("title eq null"), {"title": "None"}) is False


def test_case_exact_attributes_compare_exactly() -> None:
    node = parse_filter('id eq "ABC"')
    assert matches(node, {"id": "abc"}) is True
    assert matches(node, {"id": "abc"}, case_exact=frozenset({"id"})) is False


def test_parse_path_forms() -> None:
    urns = ["urn:ietf:params:scim:schemas:core:2.0:User", ENT]
    assert parse_path("name.givenName", urns).sub == "givenName"
    assert parse_path(ENT, urns).attr is None
    path = parse_path(f"{ENT}:manager.value", urns)
    assert (path.urn, path.attr, path.sub) == (ENT, "manager", "value")
    filtered = parse_path('addresses[type eq "work"].locality', urns)
    assert filtered.attr == "addresses" and filtered.sub == "locality"
    assert filtered.filter == Compare(AttrPath("type"), "eq", "work")
    for bad in ("", "a b", "x[", "urn:unknown:thing", "a.b[c eq 1]"):
        with pytest.raises(InvalidFilter):
            parse_path(bad, urns)


def test_string_literals_are_json_strings_with_escapes() -> None:
    assert parse_filter(r'displayName eq "R&D \"Core\""').value == 'R&D "Core"'
    assert parse_filter(r'title eq "back\\slash"').value == "back\\slash"
    both = parse_filter(r'a eq "x \" y" and b eq "z]"')
    assert both == And(Compare(AttrPath("a"), "eq", 'x " y'), Compare(AttrPath("b"), "eq", "z]"))
    assert parse_path(r'members[value eq "a]\"b"]', []).filter == Compare(AttrPath("value"), "eq", 'a]"b')
