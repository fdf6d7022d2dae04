"""Property (issue 12): Unicode, nesting depth, numbers and Bulk reference graphs of any
shape get a SCIM answer, never a 5xx. Strategies and helpers are test_fuzz.py's."""

from __future__ import annotations

import json
import random
import unicodedata
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_fuzz import Targets, send, targets  # noqa: F401 (targets is a fixture)

from scim.filters import MAX_FILTER_DEPTH
from scim.schema import (
    BULK_REQUEST,
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    USER,
)

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
