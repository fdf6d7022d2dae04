"""Property-based tests of /scim/v2 through Flask's test client.

Two families of properties:

* robustness: whatever arrives (random or grammar-shaped filters, PATCH bodies, headers,
  list parameters, JSON bodies), the answer is never a 5xx, every error is a SCIM error
  body (RFC 7644 3.12) without a traceback, and a 401 says how to authenticate (RFC 6750 3);
* agreement: for grammar-shaped filters that parse, the SQL translator (``scim.query``)
  selects exactly the users the Python evaluator (``scim.matching.matches``) accepts
  (test_fuzz_agreement.py); hostile Unicode, nesting and numbers are test_fuzz_input.py.

This module holds the strategies and helpers the other two import.

Failing examples print the request (``note``) so a server bug can be replayed by hand.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from scim.errors import ERROR_SCHEMA
from scim.schema import (
    BULK_REQUEST,
    ENTERPRISE_USER,
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
