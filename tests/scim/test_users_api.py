"""Users through the HTTP endpoint, on a real database (SQLite, or PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scim.schema import ENTERPRISE_USER, PATCH_OP, SEARCH_REQUEST, USER
from sync.models import ScimDeletion, ScimUser
from sync.tokens import create_token, revoke_token

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user(user_name: str, /, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, **extra}


def create(client: FlaskClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/scim/v2/Users", json=body, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def assert_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith("application/scim+json")
    body = response.json
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert "Traceback" not in response.get_data(as_text=True)
    if scim_type:
        assert body["scimType"] == scim_type
    return body


def test_create_returns_201_with_location_etag_and_stores_the_writer(
        client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    response = client.post("/scim/v2/Users", headers=auth, json=user(
        "bjensen@example.com", name={"givenName": "Barbara"}, password="secret!",
        **{ENTERPRISE_USER: {"employeeNumber": "701984", "department": "Finance"}}))
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == body["meta"]["location"]
    assert response.headers["ETag"] == body["meta"]["version"] == 'W/"1"'
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert "password" not in body  # never stored, never returned
    assert body["schemas"] == [USER, ENTERPRISE_USER]
    with Session(engine) as session:
        row = session.get(ScimUser, body["id"])
        assert row.created_by == row.updated_by == "okta-test"
        assert row.employee_number == "701984"
        assert "password" not in row.resource
        assert row.resource[ENTERPRISE_USER]["department"] == "Finance"


def test_username_is_unique_case_insensitively(client: FlaskClient, auth: dict[str, str]) -> None:
    create(client, auth, user("Bjensen@Example.com"))
    response = client.post("/scim/v2/Users", json=user("bjensen@example.COM"), headers=auth)
    assert_error(response, 409, "uniqueness")
    other = create(client, auth, user("other@example.com"))
    renamed = client.put(f"/scim/v2/Users/{other['id']}", json=user("BJENSEN@example.com"), headers=auth)
    assert_error(renamed, 409, "uniqueness")


def test_get_put_patch_delete_round_trip(client: FlaskClient, auth: dict[str, str]) -> None:
    created = create(client, auth, user("a@x.com", displayName="A", active=True))
    uid = created["id"]
    assert client.get(f"/scim/v2/Users/{uid}", headers=auth).json["displayName"] == "A"
    replaced = client.put(f"/scim/v2/Users/{uid}", headers=auth,
                          json=user("a@x.com", title="Analyst")).json
    assert "displayName" not in replaced and replaced["title"] == "Analyst"  # PUT replaces
    assert replaced["meta"]["version"] == 'W/"2"'
    patched = client.patch(f"/scim/v2/Users/{uid}", headers=auth, json={
        "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert patched.status_code == 200 and patched.json["active"] is False
    assert client.delete(f"/scim/v2/Users/{uid}", headers=auth).status_code == 204
    assert_error(client.get(f"/scim/v2/Users/{uid}", headers=auth), 404)
    assert_error(client.delete(f"/scim/v2/Users/{uid}", headers=auth), 404)


def test_a_delete_records_what_was_deleted_and_by_whom(client: FlaskClient, auth: dict[str, str],
                                                       engine: Engine) -> None:
    uid = create(client, auth, user("gone@x.com", title="Leaver"))["id"]
    client.delete(f"/scim/v2/Users/{uid}", headers=auth)
    with Session(engine) as session:
        (tombstone,) = session.exec(select(ScimDeletion)).all()
    assert (tombstone.resource_type, tombstone.resource_id, tombstone.name) == ("User", uid, "gone@x.com")
    assert tombstone.deleted_by == "okta-test" and tombstone.resource["title"] == "Leaver"


def test_a_patch_that_changes_nothing_keeps_the_version(client: FlaskClient, auth: dict[str, str]) -> None:
    uid = create(client, auth, user("same@x.com", active=True))["id"]
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": True}]}
    assert client.patch(f"/scim/v2/Users/{uid}", headers=auth, json=body).json["meta"]["version"] == 'W/"1"'


def test_if_match_guards_writes_and_if_none_match_gives_304(client: FlaskClient, auth: dict[str, str]) -> None:
    uid = create(client, auth, user("etag@x.com"))["id"]
    stale = {**auth, "If-Match": 'W/"7"'}
    assert_error(client.put(f"/scim/v2/Users/{uid}", json=user("etag@x.com"), headers=stale), 412)
    assert_error(client.delete(f"/scim/v2/Users/{uid}", headers=stale), 412)
    fresh = {**auth, "If-Match": 'W/"1"'}
    assert client.put(f"/scim/v2/Users/{uid}", json=user("etag@x.com"), headers=fresh).status_code == 200
    cached = client.get(f"/scim/v2/Users/{uid}", headers={**auth, "If-None-Match": 'W/"2"'})
    assert cached.status_code == 304


@pytest.fixture
def people(client: FlaskClient, auth: dict[str, str]) -> dict[str, str]:
    specs = {
        "ann": user("ann@corp.com", displayName="Ann Lee", title="Data Analyst", active=True,
                    name={"givenName": "Ann", "familyName": "Lee"},
                    emails=[{"value": "ann@corp.com", "type": "work", "primary": True}],
                    **{ENTERPRISE_USER: {"department": "Finance", "employeeNumber": "100"}}),
        "bob": user("bob@corp.com", displayName="Bob Stone", active=False,
                    emails=[{"value": "bob@home.net", "type": "home"}],
                    **{ENTERPRISE_USER: {"department": "Sales", "employeeNumber": "200"}}),
        "cy": user("cy@other.org", displayName="Cy", title="Engineer", externalId="EXT-3"),
    }
    return {key: create(client, auth, body)["id"] for key, body in specs.items()}


def found(client: FlaskClient, auth: dict[str, str], text: str, **params: Any) -> list[str]:
    response = client.get("/scim/v2/Users", headers=auth, query_string={"filter": text, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["totalResults"] >= len(response.json["Resources"])
    return sorted(r["userName"].split("@")[0] for r in response.json["Resources"])


@pytest.mark.parametrize("text,expected", [
    ('userName eq "ANN@corp.com"', ["ann"]),
    ('userName ne "ann@corp.com"', ["bob", "cy"]),
    ('userName co "CORP"', ["ann", "bob"]),
    ('userName sw "b"', ["bob"]),
    ('userName ew ".org"', ["cy"]),
    ('userName gt "b"', ["bob", "cy"]),
    ('userName ge "bob@corp.com"', ["bob", "cy"]),
    ('userName lt "b"', ["ann"]),
    ('userName le "bob@corp.com"', ["ann", "bob"]),
    ("title pr", ["ann", "cy"]),
    ("not (title pr)", ["bob"]),
    ('title pr and displayName sw "a"', ["ann"]),
    ('displayName eq "cy" or active eq false', ["bob", "cy"]),
    ('emails[type eq "work" and primary eq true]', ["ann"]),
    ('emails[type eq "home"].value ew "home.net"', ["bob"]),
    ('emails.value co "@corp"', ["ann"]),
    ("emails pr", ["ann", "bob"]),
    ('name.familyName eq "lee"', ["ann"]),
    (f'{ENTERPRISE_USER}:department eq "finance"', ["ann"]),
    ('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "200"', ["bob"]),
    ('externalId eq "EXT-3"', ["cy"]),
    ('externalId eq "ext-3"', []),  # externalId is caseExact
    ('USERNAME Eq "cy@other.org"', ["cy"]),
    ('meta.resourceType eq "User"', ["ann", "bob", "cy"]),
    ('meta.created gt "2000-01-01T00:00:00Z"', ["ann", "bob", "cy"]),
    ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
    ('userName eq "f1d2c3b4-0000-4000-8000-000000000000"', []),  # Entra's probe
])
def test_filters_run_in_the_database(client: FlaskClient, auth: dict[str, str], people: dict[str, str],
                                     text: str, expected: list[str]) -> None:
    assert found(client, auth, text) == expected


@pytest.mark.parametrize("text", [
    'nope eq "x"', "userName eq", "active gt true", 'name eq "x"', 'meta.created eq "yesterday"',
    'emails[nope eq "x"]', 'title[value eq "x"]', "password pr",
])
def test_bad_filters_are_400_invalid_filter(client: FlaskClient, auth: dict[str, str], text: str) -> None:
    response = client.get("/scim/v2/Users", headers=auth, query_string={"filter": text})
    assert_error(response, 400, "invalidFilter")


def test_paging_and_sorting(client: FlaskClient, auth: dict[str, str], people: dict[str, str]) -> None:
    query = {"sortBy": "userName", "sortOrder": "descending", "startIndex": 2, "count": 1}
    page = client.get("/scim/v2/Users", headers=auth, query_string=query).json
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and page["itemsPerPage"] == 1
    assert [r["userName"] for r in page["Resources"]] == ["bob@corp.com"]
    by_dept = client.get("/scim/v2/Users", headers=auth, query_string={
        "sortBy": f"{ENTERPRISE_USER}:department", "filter": f"{ENTERPRISE_USER}:department pr"}).json
    assert [r["userName"] for r in by_dept["Resources"]] == ["ann@corp.com", "bob@corp.com"]
    counted = client.get("/scim/v2/Users", headers=auth, query_string={"count": 0}).json
    assert counted["totalResults"] == 3 and counted["Resources"] == []
    assert_error(client.get("/scim/v2/Users", headers=auth, query_string={"count": "ten"}), 400)
    beyond = client.get("/scim/v2/Users", headers=auth, query_string={"startIndex": 2**70}).json
    assert beyond["totalResults"] == 3 and beyond["Resources"] == []


def test_okta_lookup_query_shape(client: FlaskClient, auth: dict[str, str], people: dict[str, str]) -> None:
    response = client.get('/scim/v2/Users?filter=userName%20eq%20%22ann%40corp.com%22&startIndex=1&count=100',
                          headers=auth)
    assert response.json["totalResults"] == 1 and response.json["Resources"][0]["id"] == people["ann"]


def test_attributes_and_excluded_attributes(client: FlaskClient, auth: dict[str, str],
                                            people: dict[str, str]) -> None:
    one = client.get(f"/scim/v2/Users/{people['ann']}", headers=auth,
                     query_string={"attributes": f"userName,name.givenName,{ENTERPRISE_USER}:department"}).json
    assert set(one) == {"schemas", "id", "userName", "name", ENTERPRISE_USER}
    assert one["name"] == {"givenName": "Ann"} and one[ENTERPRISE_USER] == {"department": "Finance"}
    listed = client.get("/scim/v2/Users", headers=auth,
                        query_string={"excludedAttributes": "emails,meta,id"}).json["Resources"]
    assert all("emails" not in r and "meta" not in r and "id" in r for r in listed)


def test_search_endpoints(client: FlaskClient, auth: dict[str, str], people: dict[str, str]) -> None:
    body = {"schemas": [SEARCH_REQUEST], "filter": 'title co "a"', "attributes": ["userName"],
            "sortBy": "userName", "startIndex": 1, "count": 10}
    result = client.post("/scim/v2/Users/.search", headers=auth, json=body).json
    assert [r["userName"] for r in result["Resources"]] == ["ann@corp.com"]
    assert set(result["Resources"][0]) == {"schemas", "id", "userName"}
    everything = client.post("/scim/v2/.search", headers=auth, json={"schemas": [SEARCH_REQUEST]}).json
    assert everything["totalResults"] == 3
    wrong = client.post("/scim/v2/Users/.search", headers=auth, json={"schemas": ["urn:x"]})
    assert_error(wrong, 400, "invalidSyntax")


@pytest.mark.parametrize("body,scim_type", [
    ("{not json", "invalidSyntax"),
    ("[1, 2]", "invalidSyntax"),
    ('{"schemas": []}', "invalidValue"),                    # no userName
    ('{"userName": 42.5, "active": "maybe"}', "invalidValue"),
    ('{"userName": "x@y.z", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}',
     "invalidValue"),
    ('{"userName": "x@y.z", "name": "not an object"}', "invalidValue"),
])
def test_malformed_bodies_are_scim_400s(client: FlaskClient, auth: dict[str, str], body: str,
                                        scim_type: str) -> None:
    response = client.post("/scim/v2/Users", headers={**auth, "Content-Type": "application/scim+json"},
                           data=body)
    assert_error(response, 400, scim_type)


def test_oversized_body_is_413(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Users", headers=auth, data="x" * 2_000_000)
    assert_error(response, 413)


def test_unknown_routes_and_methods_answer_in_scim(client: FlaskClient, auth: dict[str, str]) -> None:
    assert_error(client.get("/scim/v2/Nothing", headers=auth), 404)
    assert_error(client.post("/scim/v2/Schemas", headers=auth), 405)
    assert_error(client.get("/scim/v2/Users/" + "x" * 100, headers=auth), 404)
    assert_error(client.get("/scim/v2/Me", headers=auth), 501)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic dXNlcjpwYXNz", "bearer  "])
def test_bad_credentials_are_401_with_www_authenticate(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/scim/v2/Users", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_admin_scope_tokens_are_refused(client: FlaskClient, auth: dict[str, str],
                                                    engine: Engine) -> None:
    with Session(engine) as session:
        admin = create_token(session, "ops", "admin")
        session.commit()
    assert_error(client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {admin}"}), 401)
    assert client.get("/scim/v2/Users", headers=auth).status_code == 200
    with Session(engine) as session:
        revoke_token(session, "okta-test")
        session.commit()
    assert_error(client.get("/scim/v2/Users", headers=auth), 401)


def test_discovery_tells_the_truth(client: FlaskClient, auth: dict[str, str]) -> None:
    config = client.get("/scim/v2/ServiceProviderConfig", headers=auth).json
    assert config["patch"]["supported"] and config["filter"]["supported"] and config["etag"]["supported"]
    assert config["bulk"]["maxOperations"] == 250 and config["changePassword"]["supported"] is False
    types = client.get("/scim/v2/ResourceTypes", headers=auth).json["Resources"]
    assert {t["endpoint"] for t in types} == {"/Users", "/Groups"}
    schemas = client.get("/scim/v2/Schemas", headers=auth).json["Resources"]
    assert {s["id"] for s in schemas} == {USER, ENTERPRISE_USER, "urn:ietf:params:scim:schemas:core:2.0:Group"}
    one = client.get(f"/scim/v2/Schemas/{ENTERPRISE_USER}", headers=auth).json
    assert "employeeNumber" in {a["name"] for a in one["attributes"]}


def test_every_write_is_durable(client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    uid = create(client, auth, user("dur@x.com", emails=[{"value": "dur@x.com", "type": "work"}]))["id"]
    client.patch(f"/scim/v2/Users/{uid}", headers=auth, json={"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "title", "value": "Controller"}]})
    with Session(engine) as session:
        row = session.exec(select(ScimUser).where(ScimUser.user_name_key == "dur@x.com")).one()
        assert row.resource["title"] == "Controller" and row.version == 2


def test_not_holds_for_absent_attributes_as_in_python(client: FlaskClient, auth: dict[str, str],
                                                      people: dict[str, str]) -> None:
    # cy has no emails, bob's only email is not primary, ann's is: SCIM "not" treats
    # an absent value as failing the inner test (RFC 7644 3.4.2.2), unlike SQL's NULL.
    assert found(client, auth, 'not (title eq "Engineer")') == ["ann", "bob"]
    assert found(client, auth, "emails[not (primary eq true)]") == ["bob"]
    assert found(client, auth, 'not (emails[type eq "work"])') == ["bob", "cy"]


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/scim/v2/Users?filter=userName%20eq%20%22%5Cu0000%22", None),
    ("GET", "/scim/v2/Users?filter=userName%20eq%20%22a%00%22", None),
    ("GET", "/scim/v2/Users/%00", None),
    ("POST", "/scim/v2/Users", '{"userName": "nul\\u0000x"}'),
])
def test_nul_characters_are_refused_on_every_database(client: FlaskClient, auth: dict[str, str],
                                                      method: str, path: str, body: str | None) -> None:
    response = client.open(path, method=method, headers=auth, data=body)
    assert_error(response, 400)
