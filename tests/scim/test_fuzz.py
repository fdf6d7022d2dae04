"""Property-based tests of /scim/v2 through Flask's test client.

Two families of properties:

* robustness: whatever arrives (random or grammar-shaped filters, PATCH bodies, headers,
  list parameters, JSON bodies), the answer is never a 5xx, every error is a SCIM error
  body (RFC 7644 3.12) without a traceback, and a 401 says how to authenticate (RFC 6750 3);
* agreement: for grammar-shaped filters that parse, the SQL translator (``scim.query``)
  selects exactly the users the Python evaluator (``scim.filters.matches``) accepts.

Failing examples print the request (``note``) so a server bug can be replayed by hand.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from scim.errors import ERROR_SCHEMA, InvalidFilter
from scim.filters import MAX_FILTER_DEPTH, Present, parse_filter
from scim.matching import lookup, matches
from scim.schema import (
    BULK_REQUEST,
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    SEARCH_REQUEST,
    USER,
)

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- shared strategies ------------------------------------------------------------------

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
UNKNOWN_URN = "urn:example:params:scim:schemas:extension:acme:1.0:User"
ATTRIBUTES = (
    "userName", "displayName", "title", "nickName", "active", "externalId", "id", "name",
    "name.givenName", "name.familyName", "name.formatted", "emails", "emails.value",
    "emails.type", "emails.primary", "emails.display", "phoneNumbers.value", "addresses.country",
    "groups", "groups.value", "groups.display", "members", "members.value", "members.display",
    "meta", "meta.created", "meta.lastModified", "meta.resourceType", "meta.version",
    "x509Certificates.value", "password", "schemas", "nosuch", "name.nosuch", "emails.nosuch",
    "$ref", f"{USER}:userName", f"{USER}:name.familyName", f"{ENTERPRISE_USER}:department",
    f"{ENTERPRISE_USER}:employeeNumber", f"{ENTERPRISE_USER}:manager",
    f"{ENTERPRISE_USER}:manager.value", f"{ENTERPRISE_USER}:manager.displayName",
    f"{ENTERPRISE_USER}:nosuch", f"{UNKNOWN_URN}:badge",
)
MULTI_VALUED = ("emails", "phoneNumbers", "groups", "members", "addresses", "nosuch", "name")


def any_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    shuffled = flips.map(lambda up: "".join(c.upper() if u else c.lower() for c, u in zip(word, up)))
    return st.one_of(st.just(word), st.just(word.swapcase()), shuffled)


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


attribute_paths = st.sampled_from(ATTRIBUTES).flatmap(any_case)
operators = st.sampled_from(OPERATORS).flatmap(any_case)
# Characters that trip up lexers, SQL drivers and JSON encoders more often than most.
awkward_text = st.text(st.sampled_from("\x00\x01\"\\'\u2028\u00e9\U0001f4a5%_/ "), min_size=1, max_size=6)
literals = st.one_of(
    awkward_text.map(quoted),
    st.text(max_size=12).map(quoted),
    st.text(max_size=12).map(lambda t: f'"{t}"'),  # unescaped: quotes and backslashes as typed
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "True", "NULL", '"2024-02-29T12:00:00Z"',
                     '"2020-01-01"', '"not-a-date"', '"work"', '"\\u0000"', '"a\x00"', "bare", '""']),
)


def leaf(paths: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    compare = st.tuples(paths, operators, literals).map(" ".join)
    return st.one_of(compare, paths.map(lambda p: f"{p} pr"))


def logical(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    joined = st.tuples(inner, st.sampled_from(["and", "or"]).flatmap(any_case), inner).map(" ".join)
    return st.one_of(joined, inner.map(lambda f: f"not ({f})"), inner.map(lambda f: f"({f})"))


value_paths = st.tuples(
    st.sampled_from(MULTI_VALUED).flatmap(any_case),
    st.recursive(leaf(st.sampled_from(["value", "type", "primary", "display", "nosuch"])),
                 logical, max_leaves=3),
    st.sampled_from(["", ".value", ".type", ".primary"]),
).map(lambda t: f"{t[0]}[{t[1]}]{t[2]}")
grammar_filters = st.recursive(
    st.one_of(leaf(attribute_paths), value_paths.map(lambda p: p if p.endswith("]") else f"{p} pr"),
              st.tuples(value_paths.filter(lambda p: not p.endswith("]")), operators,
                        literals).map(" ".join)),
    logical, max_leaves=6,
)


def mutated(text: str) -> st.SearchStrategy[str]:
    """``text`` with a few characters cut out or spliced in: near misses of the grammar."""
    return st.tuples(st.integers(0, len(text)), st.integers(0, 3), st.text(max_size=3)).map(
        lambda m: text[:m[0]] + m[2] + text[m[0] + m[1]:])


filters = st.one_of(grammar_filters, grammar_filters, grammar_filters.flatmap(mutated), st.text(max_size=80))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
                      max_size=40)
weird_ints = st.one_of(
    st.integers(-(2**70), 2**70).map(str), header_text,
    st.sampled_from(["", "1", "0", "-1", "1e3", "2.5", "9223372036854775808", "9223372036854775809",
                     "18446744073709551616", "1" + "0" * 30]),
)


# --- what every answer must look like ---------------------------------------------------


def assert_scim_answer(response: TestResponse, path: str) -> None:
    text = response.get_data(as_text=True)
    note(f"-> {response.status_code} {response.headers.get('Content-Type')} {text[:500]}")
    # RFC 7644 3.11: a server without /Me SHOULD answer 501; any other 5xx is a crash.
    assert response.status_code < 500 or (response.status_code, path) == (501, "/Me"), text
    assert "Traceback" not in text
    if response.status_code == 401:
        assert response.headers.get("WWW-Authenticate")
    if response.status_code >= 400:
        assert response.mimetype == "application/scim+json"
        body = json.loads(text)
        assert ERROR_SCHEMA in body["schemas"]
        assert body["status"] == str(response.status_code)
        assert isinstance(body["detail"], str)


def send(client: FlaskClient, method: str, path: str, *, headers: dict[str, str],
         query: dict[str, str] | None = None, body: Any = None, raw: bytes | None = None) -> TestResponse:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    note(f"{method} {path} query={query!r} headers={headers!r} body={data!r}")
    response = client.open(f"/scim/v2{path}", method=method, headers=headers,
                           query_string=query, data=data)
    assert_scim_answer(response, path)
    return response


@dataclass
class Targets:
    """A user and a group for requests to aim at (recreated when a request deletes them)."""

    user_id: str = ""
    group_id: str = ""

    def ensure(self, client: FlaskClient, auth: dict[str, str]) -> Targets:
        def gone(path: str) -> bool:
            return client.get(f"/scim/v2{path}", headers=auth).status_code == 404

        if not self.user_id or gone(f"/Users/{self.user_id}"):
            self.user_id = _create(client, auth, "Users", _target_user())
        if not self.group_id or gone(f"/Groups/{self.group_id}"):
            group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                     "displayName": f"Fuzzers {random.random()}", "members": [{"value": self.user_id}]}
            self.group_id = _create(client, auth, "Groups", group)
        return self

    def fill(self, path: str) -> str:
        return path.replace("{user}", self.user_id).replace("{group}", self.group_id)


def _target_user() -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE_USER], "userName": f"fuzz.{random.random()}@example.com",
        "name": {"givenName": "Fuzz", "familyName": "Target"}, "title": "Tester",
        "emails": [{"value": "fuzz@example.com", "type": "work", "primary": True},
                   {"value": "fuzz@home.example", "type": "home"}],
        ENTERPRISE_USER: {"department": "QA", "employeeNumber": "F-1"},
    }


def _create(client: FlaskClient, auth: dict[str, str], kind: str, body: dict[str, Any]) -> str:
    response = client.post(f"/scim/v2/{kind}", headers=auth, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


@pytest.fixture
def targets(client: FlaskClient, auth: dict[str, str]) -> Targets:
    return Targets().ensure(client, auth)


# --- robustness -------------------------------------------------------------------------


@FUZZ
@given(text=filters, kind=st.sampled_from(["Users", "Groups"]), via=st.sampled_from(["GET", "POST"]))
def test_any_filter_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str], targets: Targets,
                                       text: str, kind: str, via: str) -> None:
    if via == "GET":
        send(client, "GET", f"/{kind}", headers=auth, query={"filter": text})
    else:
        send(client, "POST", f"/{kind}/.search", headers=auth,
             body={"schemas": [SEARCH_REQUEST], "filter": text})


list_parameters = st.fixed_dictionaries({}, optional={
    "filter": filters,
    "startIndex": weird_ints,
    "count": weird_ints,
    "sortBy": st.one_of(attribute_paths, header_text, awkward_text),
    "sortOrder": st.one_of(any_case("ascending"), any_case("descending"), header_text),
    "attributes": st.lists(st.one_of(attribute_paths, header_text, awkward_text), max_size=3).map(",".join),
    "excludedAttributes": st.lists(st.one_of(attribute_paths, header_text), max_size=3).map(",".join),
})


@FUZZ
@given(query=list_parameters, path=st.sampled_from(["/Users", "/Groups", "/Users/{user}", "/Groups/{group}"]),
       as_body=st.booleans())
def test_any_list_parameters_get_a_scim_answer(client: FlaskClient, auth: dict[str, str],
                                               targets: Targets, query: dict[str, str], path: str,
                                               as_body: bool) -> None:
    if as_body and "{" not in path:
        body: dict[str, Any] = {"schemas": [SEARCH_REQUEST], **query}
        for name in ("startIndex", "count"):  # a SearchRequest carries JSON numbers
            # ASCII digits only: str.isdigit() also says yes to '²', which int() refuses.
            if name in body and re.fullmatch(r"-?[0-9]+", body[name]):
                body[name] = int(body[name])
        send(client, "POST", f"{path}/.search", headers=auth, body=body)
    else:
        send(client, "GET", targets.fill(path), headers=auth, query=query)


patch_paths = st.one_of(
    attribute_paths, value_paths, grammar_filters.map(lambda f: f"emails[{f}].value"),
    st.sampled_from([ENTERPRISE_USER, UNKNOWN_URN, "members[value eq \"{user}\"]",
                     'emails[type eq "work"].value', 'emails[type eq "other"]', "", " "]),
    header_text,
)
patch_values = st.one_of(
    json_values,
    st.lists(st.fixed_dictionaries({}, optional={
        "value": st.one_of(st.sampled_from(["{user}", "{group}"]), json_values),
        "type": json_values, "primary": json_values, "display": json_values})),
    st.dictionaries(st.one_of(attribute_paths, st.text(max_size=10)), json_values, max_size=4),
)
operations = st.fixed_dictionaries(
    {"op": st.one_of(st.sampled_from(["add", "replace", "remove"]).flatmap(any_case), json_values)},
    optional={"path": st.one_of(patch_paths, json_values), "value": patch_values},
)
writable_paths = st.sampled_from([
    "title", "displayName", "userName", "externalId", "active", "name.givenName", "emails",
    'emails[type eq "work"].value', 'emails[value co "@"]', "members", f"{ENTERPRISE_USER}:department",
    f"{ENTERPRISE_USER}:manager", "nickName", "locale", "phoneNumbers",
])
likely_operations = st.fixed_dictionaries({
    "op": st.sampled_from(["add", "replace", "remove"]).flatmap(any_case),
    "path": writable_paths, "value": st.one_of(st.text(max_size=10), awkward_text, patch_values),
})
patch_bodies = st.one_of(
    st.fixed_dictionaries({"schemas": st.just([PATCH_OP]),
                           "Operations": st.lists(likely_operations, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"schemas": st.one_of(st.just([PATCH_OP]), json_values)},
                          optional={"Operations": st.lists(likely_operations | operations, max_size=4),
                                    "operations": json_values}),
    json_values,
)
if_match = st.one_of(st.none(), st.none(), header_text,
                     st.sampled_from(["*", 'W/"1"', 'W/"2"', '"1"', 'W/"1", W/"2"']))


def fill_ids(value: Any, targets: Targets) -> Any:
    return json.loads(targets.fill(json.dumps(value)))


@FUZZ
@given(body=patch_bodies, kind=st.sampled_from(["Users", "Groups"]), etag=if_match)
def test_any_patch_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str], targets: Targets,
                                      body: Any, kind: str, etag: str | None) -> None:
    targets.ensure(client, auth)
    resource_id = targets.user_id if kind == "Users" else targets.group_id
    headers = {**auth, **({"If-Match": etag} if etag is not None else {})}
    send(client, "PATCH", f"/{kind}/{resource_id}", headers=headers, body=fill_ids(body, targets))


@FUZZ
@given(path=writable_paths, value=st.one_of(st.text(max_size=30), awkward_text),
       via=st.sampled_from(["PATCH", "PUT", "POST"]))
def test_any_text_in_an_attribute_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str],
                                                     targets: Targets, path: str, value: str,
                                                     via: str) -> None:
    targets.ensure(client, auth)
    if via == "PATCH":
        operation = {"op": "replace", "path": path, "value": value}
        body: dict[str, Any] = {"schemas": [PATCH_OP], "Operations": [operation]}
        send(client, "PATCH", f"/Users/{targets.user_id}", headers=auth, body=body)
        return
    body = {**_target_user(), "userName": f"{value} {random.random()}"}
    if "[" not in path:
        body = {**body, path: value}
    target = f"/Users/{targets.user_id}" if via == "PUT" else "/Users"
    send(client, via, target, headers=auth, body=body)


def authorizations(token: str) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(), st.just(f"Bearer {token}"), st.just(f"bearer   {token}  "), st.just("Bearer"),
        st.just("Bearer "), st.just(f"Basic {token}"), st.just(f"Bearer {token[:-3]}"),
        st.just(f"Bearer {token}x"), st.just("Bearer " + "a" * 300), st.just(token),
        header_text, header_text.map(lambda t: f"Bearer {t}"),
    )


bulk_bodies = st.fixed_dictionaries(
    {"schemas": st.one_of(st.just([BULK_REQUEST]), json_values),
     "Operations": st.lists(st.fixed_dictionaries(
         {"method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"]).flatmap(any_case)},
         optional={"path": st.sampled_from(["/Users", "/Groups", "/Users/{user}", "/Groups/{group}",
                                            "/Users/bulkId:u1", "/Nope", ""]),
                   "bulkId": st.one_of(st.just("u1"), json_values), "data": json_values,
                   "version": json_values}), max_size=3)},
    optional={"failOnErrors": json_values},
)
user_bodies = st.fixed_dictionaries({"userName": st.one_of(st.text(max_size=20), json_values)}, optional={
    "schemas": st.one_of(st.just([USER]), json_values), "emails": json_values, "active": json_values,
    "name": json_values, ENTERPRISE_USER: json_values, "members": json_values, "displayName": json_values,
})
resource_paths = st.sampled_from([
    "/Users", "/Groups", "/Users/{user}", "/Groups/{group}", "/Users/.search", "/.search", "/Bulk",
    "/Me", "/Users/nope", "/Groups/" + "x" * 40, "/ServiceProviderConfig", "/Schemas",
    f"/Schemas/{USER}", "/ResourceTypes/User", "/ResourceTypes/Nope", "/Nope", "/Users/{user}/x",
    "/Users/%00", "/Groups/a%2Fb",
])


@FUZZ
@given(data=st.data(), method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
       path=resource_paths,
       body=st.one_of(st.none(), json_values, bulk_bodies, user_bodies, patch_bodies),
       raw=st.one_of(st.none(), st.binary(max_size=40)),
       content_type=st.one_of(st.none(), st.sampled_from(["application/scim+json", "application/json",
                                                          "text/plain", "application/x-www-form-urlencoded",
                                                          "multipart/form-data"]), header_text),
       etag=if_match, if_none_match=st.one_of(st.none(), st.just('W/"1"'), header_text))
def test_any_request_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str], targets: Targets,
                                        data: st.DataObject, method: str, path: str, body: Any,
                                        raw: bytes | None, content_type: str | None, etag: str | None,
                                        if_none_match: str | None) -> None:
    targets.ensure(client, auth)
    token = auth["Authorization"].removeprefix("Bearer ")
    headers = {"Authorization": data.draw(authorizations(token), label="authorization"),
               "Content-Type": content_type, "If-Match": etag, "If-None-Match": if_none_match}
    headers = {k: v for k, v in headers.items() if v is not None}
    send(client, method, targets.fill(path), headers=headers, body=fill_ids(body, targets), raw=raw)


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


# --- issue 12: Unicode, nesting depth, numbers, Bulk reference graphs -----------------------

INPUT_FUZZ = settings(max_examples=120, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Lone surrogates, composed and decomposed letters, default-ignorables, compatibility forms,
# case pairs that lower() and casefold() disagree on, exotic spaces.
TRICKY = ("\ud800", "\udfff", "\ud83d", "\u00e9", "e\u0301", "\u200b", "\u200d", "\ufeff", "\u00ad",
          "\u2060", "\ufe0f", "\uff41", "\uff21", "\u00df", "SS", "\u1e9e", "\u0130", " ", "\u3000",
          "\u00a0", "\U0001f4a5", "\x00", "a")
unicode_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.characters(blacklist_categories=())),
                        max_size=12).map("".join)


@INPUT_FUZZ
@given(name=unicode_text, other=unicode_text, kind=st.sampled_from(["Users", "Groups"]))
def test_any_unicode_in_a_resource_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str],
                                                      name: str, other: str, kind: str) -> None:
    body = ({"schemas": [USER], "userName": name, "displayName": other, "name": {other: name}}
            if kind == "Users" else {"schemas": [GROUP], "displayName": name})
    # json.dumps escapes a lone surrogate as "\ud800": legal JSON, not text.
    response = send(client, "POST", f"/{kind}", headers=auth, raw=json.dumps(body).encode())
    # A high and a low surrogate side by side are one escaped astral character: valid.
    sent = json.loads(json.dumps(name + other if kind == "Users" else name))
    if any("\ud800" <= c <= "\udfff" for c in sent):
        assert response.status_code == 400
    for filter_text in (f"{'userName' if kind == 'Users' else 'displayName'} eq {json.dumps(name)}",
                        f"emails[value sw {json.dumps(other)}]"):
        send(client, "GET", f"/{kind}", headers=auth, query={"filter": filter_text})


def _spellings(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([
        unicodedata.normalize("NFD", name), unicodedata.normalize("NFC", name), name.upper(),
        name.casefold(), f"  {name}\u3000", unicodedata.normalize("NFKD", name),
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name),  # full-width
    ])


@INPUT_FUZZ
@given(data=st.data(), name=st.text(st.sampled_from("aAeE\u00e9\u00c9\u00dfsS\u00f1\u212b\u00c5.@1 "),
                                    min_size=1, max_size=10))
def test_every_spelling_of_a_user_name_is_the_same_user(client: FlaskClient, auth: dict[str, str],
                                                        data: st.DataObject, name: str) -> None:
    first = send(client, "POST", "/Users", headers=auth, body={"schemas": [USER], "userName": name})
    assume(first.status_code == 201)
    other = data.draw(_spellings(name))
    second = send(client, "POST", "/Users", headers=auth, body={"schemas": [USER], "userName": other})
    assert second.status_code == 409, (name, other)
    client.delete(f"/scim/v2/Users/{first.get_json()['id']}", headers=auth)


@INPUT_FUZZ
@given(depth=st.integers(0, 60), wrapper=st.sampled_from(["(", "not(", "not (", "emails[", "(not("]),
       kind=st.sampled_from(["Users", "Groups"]))
def test_any_nesting_depth_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str], targets: Targets,
                                              depth: int, wrapper: str, kind: str) -> None:
    closing = "".join("]" if c == "[" else ")" for c in reversed(wrapper) if c in "([")
    leaf_text = 'value eq "x"' if "[" in wrapper else 'userName eq "x"'
    text = wrapper * depth + leaf_text + closing * depth
    response = send(client, "GET", f"/{kind}", headers=auth, query={"filter": text})
    if text.count("(") + text.count("[") > MAX_FILTER_DEPTH:
        assert response.status_code == 400 and response.get_json()["scimType"] == "invalidFilter"
    path = "emails[" + wrapper * depth + 'type eq "work"' + closing * depth + "]"
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]}
    send(client, "PATCH", f"/Users/{targets.user_id}", headers=auth, body=body)


number_literals = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1e-999", "0.1", "-0", "1E+2",
                     "9" * 70, "-" + "9" * 65, "9" * 5000, "1" + "0" * 308, "2.5e308"]),
    st.integers(-(10**80), 10**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@INPUT_FUZZ
@given(number=number_literals, where=st.sampled_from(["userName", "title", "active", "employeeNumber",
                                                      "emails.primary", "name.givenName"]))
def test_any_number_anywhere_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str],
                                                number: str, where: str) -> None:
    body: dict[str, Any] = {"schemas": [USER, ENTERPRISE_USER], "userName": f"n.{random.random()}@example.com"}
    if where == "employeeNumber":
        body[ENTERPRISE_USER] = {"employeeNumber": "NUMBER"}
    elif where == "emails.primary":
        body["emails"] = [{"value": "n@example.com", "primary": "NUMBER"}]
    elif where == "name.givenName":
        body["name"] = {"givenName": "NUMBER"}
    else:
        body[where] = "NUMBER"
    raw = json.dumps(body).replace('"NUMBER"', number)
    response = send(client, "POST", "/Users", headers=auth, raw=raw.encode())
    if response.status_code == 201:
        stored = json.dumps(response.get_json())
        assert "NaN" not in stored and "Infinity" not in stored
        assert where in ("employeeNumber",), (where, number)  # only there a number becomes text
        client.delete(f"/scim/v2/Users/{response.get_json()['id']}", headers=auth)


@st.composite
def bulk_graphs(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 25))
    ids = [f"b{i}" for i in range(count)]
    refs = st.sampled_from([*ids, "nosuch"])
    operations: list[dict[str, Any]] = []
    for i in range(count):
        shape = draw(st.sampled_from(["user", "group", "patch", "dup"]))
        if shape in ("user", "dup"):
            name = "dup@example.com" if shape == "dup" else f"bulk{i}.{draw(st.uuids())}@example.com"
            operations.append({"method": "POST", "path": "/Users", "bulkId": ids[i],
                               "data": {"schemas": [USER], "userName": name}})
        elif shape == "group":
            members = [{"value": f"bulkId:{r}"} for r in draw(st.lists(refs, max_size=4))]
            operations.append({"method": "POST", "path": "/Groups", "bulkId": ids[i],
                               "data": {"schemas": [GROUP], "displayName": f"bulk {i} {draw(st.uuids())}",
                                        "members": members}})
        else:
            operations.append({"method": "PATCH", "path": f"/Users/bulkId:{draw(refs)}", "data": {
                "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title",
                                                       "value": f"bulkId:{draw(refs)}"}]}})
    return operations


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=bulk_graphs(), fail_on_errors=st.one_of(st.none(), st.integers(1, 3)))
def test_any_bulk_reference_graph_gets_a_scim_answer(client: FlaskClient, auth: dict[str, str],
                                                     operations: list[dict[str, Any]],
                                                     fail_on_errors: int | None) -> None:
    body: dict[str, Any] = {"schemas": [BULK_REQUEST], "Operations": operations}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    response = send(client, "POST", "/Bulk", headers=auth, body=body)
    assert response.status_code == 200
    results = response.get_json()["Operations"]
    if fail_on_errors is None:
        assert len(results) == len(operations)
    assert all(int(r["status"]) < 500 for r in results)
    created = {r["bulkId"] for r in results if r["status"] == "201"}
    for operation in operations:
        if operation.get("bulkId") in created and operation["path"] == "/Groups":
            refs = {m["value"].removeprefix("bulkId:") for m in operation["data"]["members"]}
            assert refs <= created  # a group is created only once every member it names is
