"""Hostile and sloppy input through /scim/v2 (issue 12): every one answers a SCIM 4xx error
body with the right ``scimType``, never a 5xx, and nothing lenient is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_users_api import assert_error, create, user

from scim.bulk import MAX_REFERENCE_DEPTH
from scim.filters import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_OPERATORS
from scim.input import MAX_JSON_DEPTH, MAX_NUMBER_DIGITS
from scim.schema import (
    BULK_REQUEST,
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    SPC_SCHEMA,
    USER,
    ResourceType,
    group_type,
    user_type,
)
from sync.models import ScimGroup, ScimUser

SCIM_JSON = {"Content-Type": "application/scim+json"}


def post_raw(client: FlaskClient, auth: dict[str, str], path: str, raw: bytes | str) -> Any:
    data = raw.encode() if isinstance(raw, str) else raw
    return client.post(path, data=data, headers={**auth, **SCIM_JSON})


def users_named(client: FlaskClient, auth: dict[str, str]) -> list[str]:
    listing = client.get("/scim/v2/Users", headers=auth).json
    return [r["userName"] for r in listing["Resources"]]


# --- strings must be Unicode scalar values -----------------------------------------------


@pytest.mark.parametrize("body", [
    user("a\ud800b"),
    user("ok", displayName="\udfff"),
    user("ok", name={"\ud800": "x"}),
])
def test_a_lone_surrogate_escape_in_a_body_is_invalid_value(
        client: FlaskClient, auth: dict[str, str], body: dict[str, Any]) -> None:
    raw = json.dumps(body)  # ensure_ascii: the surrogate travels as a "\ud800" escape
    assert "\\ud" in raw
    assert_error(post_raw(client, auth, "/scim/v2/Users", raw), 400, "invalidValue")
    assert users_named(client, auth) == []


def test_surrogate_bytes_in_a_body_are_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    raw = b'{"schemas": ["' + USER.encode() + b'"], "userName": "a\xed\xa0\x80b"}'
    assert_error(post_raw(client, auth, "/scim/v2/Users", raw), 400, "invalidValue")


@pytest.mark.parametrize("query", [
    'filter=userName eq "\\ud800"',
    "filter=userName%20eq%20%22%ED%A0%80%22",
    'filter=emails[value eq "\\udc00"]',
])
def test_a_lone_surrogate_in_a_filter_is_a_400(client: FlaskClient, auth: dict[str, str], query: str) -> None:
    response = client.get(f"/scim/v2/Users?{query}", headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["scimType"] in ("invalidFilter", "invalidValue")


def test_a_lone_surrogate_in_a_search_body_filter_is_a_400(client: FlaskClient, auth: dict[str, str]) -> None:
    raw = '{"filter": "userName eq \\"\\\\ud800\\""}'
    response = post_raw(client, auth, "/scim/v2/Users/.search", raw)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["scimType"] in ("invalidFilter", "invalidValue")


def test_surrogate_bytes_in_the_url_path_are_not_a_500(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/scim/v2/Users/%ED%A0%80", headers=auth)
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert_error(response, response.status_code)


def test_a_lone_surrogate_in_a_patch_value_is_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    created = create(client, auth, user("surrogate@example.com"))
    raw = json.dumps({"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "displayName", "value": "\ud83d"}]})
    response = client.patch(f"/scim/v2/Users/{created['id']}", data=raw, headers={**auth, **SCIM_JSON})
    assert_error(response, 400, "invalidValue")


# --- nesting depth --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "(" * 1000 + 'userName eq "x"' + ")" * 1000,
    "not(" * 300 + 'userName eq "x"' + ")" * 300,
    "(" * 40 + 'userName eq "x"' + ")" * 40,
    " and ".join(['title eq "x"'] * 200),
    " or ".join(['title eq "x"'] * 200),
])
def test_deep_filters_are_refused_as_invalid_filter(client: FlaskClient, auth: dict[str, str], text: str) -> None:
    assert len(text) <= 4096
    response = client.get("/scim/v2/Users", query_string={"filter": text}, headers=auth)
    assert_error(response, 400, "invalidFilter")


@pytest.mark.parametrize("text", [
    "(" * 16 + 'userName eq "nested@example.com"' + ")" * 16,
    "not(" * 8 + 'userName ne "nested@example.com"' + ")" * 8,
    " and ".join(['userName eq "nested@example.com"'] * 50) + ' and (title pr or not(title pr))',
    " or ".join(['userName eq "nobody"'] * 100) + ' or userName eq "nested@example.com"',
    'userName eq "((((((((((((((((((((((( and or not nested@example.com"',
])
def test_a_filter_within_the_limits_still_works(client: FlaskClient, auth: dict[str, str], text: str) -> None:
    create(client, auth, user("nested@example.com"))
    create(client, auth, user("((((((((((((((((((((((( and or not nested@example.com"))
    listing = client.get("/scim/v2/Users", query_string={"filter": text}, headers=auth).json
    assert listing["totalResults"] == 1, listing


@pytest.mark.parametrize("path", [
    "emails[" + "(" * 1000 + 'type eq "work"' + ")" * 1000 + "]",
    "emails[" + "not(" * 300 + 'type eq "work"' + ")" * 300 + "]",
])
def test_deep_patch_paths_are_refused_as_invalid_path(client: FlaskClient, auth: dict[str, str], path: str) -> None:
    created = create(client, auth, user("deep-path@example.com", emails=[{"value": "a@b.c", "type": "work"}]))
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]}
    response = client.patch(f"/scim/v2/Users/{created['id']}", json=body, headers=auth)
    assert_error(response, 400, "invalidPath")


def test_bulk_data_nested_900_deep_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    data = '{"a": ' * 900 + "1" + "}" * 900
    raw = json.dumps({"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": "DATA"}]}).replace('"DATA"', data)
    response = post_raw(client, auth, "/scim/v2/Bulk", raw)
    assert_error(response, 400, "invalidSyntax")


def test_a_body_nested_past_the_parser_limit_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    response = post_raw(client, auth, "/scim/v2/Users", "[" * 100_000 + "]" * 100_000)
    assert_error(response, 400, "invalidSyntax")


@pytest.mark.parametrize("bulk_id", [{"a": 1}, ["x"], 7, True])
def test_a_bulk_id_that_is_not_a_string_is_refused(client: FlaskClient, auth: dict[str, str], bulk_id: Any) -> None:
    body = {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user("bulk-id@example.com")}]}
    response = client.post("/scim/v2/Bulk", json=body, headers=auth)
    assert_error(response, 400, "invalidValue")


@pytest.mark.parametrize("field,value", [("method", {"x": 1}), ("path", ["/Users"]), ("version", 3)])
def test_bulk_operation_fields_must_be_strings(client: FlaskClient, auth: dict[str, str],
                                               field: str, value: Any) -> None:
    operation = {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("f@example.com"),
                 field: value}
    response = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST], "Operations": [operation]},
                           headers=auth)
    assert_error(response, 400, "invalidValue")


# --- lengths the database holds -------------------------------------------------------------


@pytest.mark.parametrize("body", [
    user("x" * 513),
    user("long@example.com", externalId="e" * 513),
    user("long@example.com", displayName="d" * 513),
    user("long@example.com", **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                                {"employeeNumber": "9" * 256}}),
])
def test_values_longer_than_their_column_are_invalid_value(
        client: FlaskClient, auth: dict[str, str], body: dict[str, Any]) -> None:
    body = assert_error(client.post("/scim/v2/Users", json=body, headers=auth), 400, "invalidValue")
    assert "at most" in body["detail"]


def test_a_group_name_longer_than_its_column_is_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "g" * 513}, headers=auth)
    assert_error(response, 400, "invalidValue")


def test_a_user_name_of_512_characters_is_fine(client: FlaskClient, auth: dict[str, str]) -> None:
    create(client, auth, user("x" * 512))


# --- lenient acceptance (RFC 7643 section 2) ------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_non_finite_numbers_are_invalid_value(client: FlaskClient, auth: dict[str, str], literal: str) -> None:
    raw = json.dumps(user("n@example.com", title="NUMBER")).replace('"NUMBER"', literal)
    assert_error(post_raw(client, auth, "/scim/v2/Users", raw), 400, "invalidValue")
    assert users_named(client, auth) == []


@pytest.mark.parametrize("value", [42, 4.5, True, {"a": 1}, ["x"]])
def test_a_user_name_must_be_a_string(client: FlaskClient, auth: dict[str, str], value: Any) -> None:
    response = client.post("/scim/v2/Users", json={"schemas": [USER], "userName": value}, headers=auth)
    assert_error(response, 400, "invalidValue")


@pytest.mark.parametrize("name", ["   ", "\t\n", "\u00a0", "\u3000"])
def test_a_blank_user_name_is_invalid_value(client: FlaskClient, auth: dict[str, str], name: str) -> None:
    assert_error(client.post("/scim/v2/Users", json=user(name), headers=auth), 400, "invalidValue")


def test_a_blank_group_name_is_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "  "}, headers=auth)
    assert_error(response, 400, "invalidValue")


@pytest.mark.parametrize("schemas", [
    [USER, "urn:example:nosuch:2.0:User"],
    ["urn:example:nosuch:2.0:User"],
    [GROUP],
    "not-a-list",
    [7],
])
def test_unknown_schemas_are_refused(client: FlaskClient, auth: dict[str, str], schemas: Any) -> None:
    response = client.post("/scim/v2/Users", json={"schemas": schemas, "userName": "s@example.com"},
                           headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["scimType"] in ("invalidSyntax", "invalidValue")


def test_a_group_member_without_value_is_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    member = create(client, auth, user("member@example.com"))
    body = {"schemas": [GROUP], "displayName": "Members",
            "members": [{"value": member["id"]}, {"display": "no value here"}]}
    assert_error(client.post("/scim/v2/Groups", json=body, headers=auth), 400, "invalidValue")


def test_a_patch_adding_a_member_without_value_is_invalid_value(client: FlaskClient, auth: dict[str, str]) -> None:
    group = client.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "P"}, headers=auth).json
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members",
                                                   "value": [{"display": "nobody"}]}]}
    response = client.patch(f"/scim/v2/Groups/{group['id']}", json=body, headers=auth)
    assert_error(response, 400, "invalidValue")


# --- uniqueness on a canonical userName -----------------------------------------------------


@pytest.mark.parametrize("first,second", [
    ("Jos\u00e9@example.com", "Jose\u0301@example.com"),  # NFC and NFD
    ("jose@example.com", "\uff4a\uff4f\uff53\uff45@example.com"),  # full-width letters
    ("jose@example.com", "  jose@example.com "),
    ("STRASSE@example.com", "strasse@example.com"),
    ("stra\u00dfe@example.com", "STRASSE@example.com"),  # casefold, not lower
])
def test_one_canonical_user_name_is_one_user(client: FlaskClient, auth: dict[str, str],
                                             first: str, second: str) -> None:
    create(client, auth, user(first))
    response = client.post("/scim/v2/Users", json=user(second), headers=auth)
    assert_error(response, 409, "uniqueness")


@pytest.mark.parametrize("name", ["jo\u200bse@example.com", "\ufeffjose@example.com", "jose\u00ad@example.com",
                                  "jo\u2060se@example.com"])
def test_a_user_name_with_invisible_characters_is_invalid_value(
        client: FlaskClient, auth: dict[str, str], name: str) -> None:
    body = assert_error(client.post("/scim/v2/Users", json=user(name), headers=auth), 400, "invalidValue")
    assert "invisible" in body["detail"]


def test_user_names_are_found_by_their_canonical_form(client: FlaskClient, auth: dict[str, str]) -> None:
    create(client, auth, user("Jos\u00e9@example.com"))
    listing = client.get("/scim/v2/Users", query_string={"filter": 'userName eq "JOSE\u0301@EXAMPLE.COM"'},
                         headers=auth).json
    assert listing["totalResults"] == 1


def test_group_names_are_unique_on_their_canonical_form(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "Finanz\u00e4mter"}, headers=auth)
    response = client.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": " FINANZA\u0308MTER"},
                           headers=auth)
    assert_error(response, 409, "uniqueness")


def test_the_stored_user_name_is_what_the_client_sent(client: FlaskClient, auth: dict[str, str]) -> None:
    created = create(client, auth, user("Jose\u0301@Example.com"))
    assert created["userName"] == "Jose\u0301@Example.com"


# --- limits are advertised ------------------------------------------------------------------


def test_service_provider_config_advertises_the_limits_scim_has_a_place_for(
        client: FlaskClient, auth: dict[str, str], app: Any) -> None:
    config = client.get("/scim/v2/ServiceProviderConfig", headers=auth).json
    assert config["schemas"] == [SPC_SCHEMA]  # no extension: clients refuse unknown keys here
    scim = app.extensions["scim"]
    assert config["bulk"] == {"supported": True, "maxOperations": scim.bulk_max_operations,
                              "maxPayloadSize": scim.bulk_max_payload}
    assert config["filter"] == {"supported": True, "maxResults": scim.max_results}


def test_the_readme_documents_every_input_limit(repo_root: Any) -> None:
    readme = (repo_root / "README.md").read_text()
    for limit in (MAX_FILTER_LENGTH, MAX_FILTER_DEPTH, MAX_FILTER_OPERATORS, MAX_JSON_DEPTH,
                  MAX_NUMBER_DIGITS, MAX_REFERENCE_DEPTH):
        assert f"| {limit:,} |" in readme or f"| {limit} |" in readme, limit


@pytest.mark.parametrize("rtype,model", [(user_type(), ScimUser), (group_type(), ScimGroup)])
def test_the_advertised_lengths_are_the_columns(rtype: ResourceType, model: Any) -> None:
    columns = {"userName": "user_name", "externalId": "external_id", "displayName": "display_name",
               f"{ENTERPRISE_USER}:employeeNumber": "employee_number"}
    for path, limit in rtype.max_lengths:
        assert model.__table__.c[columns[path]].type.length == limit, path
    key = model.__table__.c["user_name_key" if model is ScimUser else "display_name_key"]
    assert key.type.length == dict(rtype.max_lengths)[rtype.key_attribute]


# --- Bulk reference chains ------------------------------------------------------------------


def chain(n: int) -> list[dict[str, Any]]:
    """n group POSTs, each naming the next as a member: every one waits on a later one."""
    return [{"method": "POST", "path": "/Groups", "bulkId": f"g{i}",
             "data": {"schemas": [GROUP], "displayName": f"chain {i}",
                      "members": [{"value": f"bulkId:g{i + 1}"}] if i + 1 < n else []}}
            for i in range(n)]


def test_a_bulk_chain_at_the_depth_limit_runs_in_dependency_order(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST], "Operations": chain(MAX_REFERENCE_DEPTH)},
                           headers=auth)
    assert response.status_code == 200
    assert {op["status"] for op in response.json["Operations"]} == {"201"}
    assert [op["bulkId"] for op in response.json["Operations"]] == [f"g{i}" for i in range(MAX_REFERENCE_DEPTH)]


def test_a_bulk_chain_past_the_depth_limit_is_refused_before_it_runs(
        client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Bulk", headers=auth,
                           json={"schemas": [BULK_REQUEST], "Operations": chain(MAX_REFERENCE_DEPTH + 1)})
    body = assert_error(response, 400, "invalidValue")
    assert str(MAX_REFERENCE_DEPTH) in body["detail"]
    assert client.get("/scim/v2/Groups", headers=auth).json["totalResults"] == 0


def test_bulk_operations_waiting_on_each_other_fail_with_409(client: FlaskClient, auth: dict[str, str]) -> None:
    operations = chain(2)
    operations[1]["data"]["members"] = [{"value": "bulkId:g0"}]
    operations.append({"method": "POST", "path": "/Users", "bulkId": "u", "data": user("free@example.com")})
    response = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations},
                           headers=auth)
    assert [op["status"] for op in response.json["Operations"]] == ["409", "409", "201"]
