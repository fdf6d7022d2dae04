"""The sandbox behaves as Omni's documentation says (../shared/omni/README.md), through
Flask's test client: the SCIM users and groups, attributes, roles, connections, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import KEYS, FakeClock
from flask import Flask
from flask.testing import FlaskClient

from sync.sandbox import SandboxStore

ATTR = "urn:omni:params:1.0:UserAttribute"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
AUTH = {"Authorization": f"Bearer {KEYS[0]}"}


@pytest.fixture
def api(sandbox: Flask) -> FlaskClient:
    return sandbox.test_client()


def post_user(api: FlaskClient, user_name: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    response = api.post("/api/scim/v2/Users", headers=AUTH,
                        json={"userName": user_name, "displayName": "Ada", **extra})
    assert response.status_code == 201, response.json
    return response.json


def patch(api: FlaskClient, path: str, *ops: dict[str, Any]) -> Any:
    return api.patch(path, headers=AUTH, json={"schemas": [PATCH], "Operations": list(ops)})


def test_every_call_needs_a_known_bearer_key_and_errors_have_omnis_shape(api: FlaskClient) -> None:
    assert api.get("/api/scim/v2/Users").status_code == 401
    response = api.get("/api/scim/v2/Users", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json == {"error": "401", "message": "Authentication required"}
    missing = api.get("/api/scim/v2/Users/0b6f0a4e-0000-4000-8000-000000000000", headers=AUTH)
    assert missing.status_code == 404 and missing.json["error"] == "404"
    # Only what the spec describes: attribute definitions cannot be created.
    refused = api.post("/api/v1/user-attributes", headers=AUTH, json={"name": "x"})
    assert refused.status_code == 405 and refused.json["error"] == "405"


def test_create_needs_user_name_and_display_name_and_a_duplicate_is_409(api: FlaskClient) -> None:
    for body in ({"userName": "a@example.com"}, {"displayName": "A"},
                 {"userName": "not-an-email", "displayName": "A"}):
        assert api.post("/api/scim/v2/Users", headers=AUTH, json=body).status_code == 400
    post_user(api)
    again = api.post("/api/scim/v2/Users", headers=AUTH,
                     json={"userName": "ADA@example.com", "displayName": "Other"})
    assert again.status_code == 409


def test_list_filters_on_user_name_and_pages(api: FlaskClient) -> None:
    for n in range(5):
        post_user(api, f"user{n}@example.com")
    found = api.get('/api/scim/v2/Users?filter=userName eq "USER3@example.com"', headers=AUTH).json
    assert [u["userName"] for u in found["Resources"]] == ["user3@example.com"]
    page = api.get("/api/scim/v2/Users?startIndex=2&count=2", headers=AUTH).json
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [u["userName"] for u in page["Resources"]] == ["user1@example.com", "user2@example.com"]
    bad = api.get('/api/scim/v2/Users?filter=displayName co "x"', headers=AUTH)
    assert bad.status_code == 400


def test_patch_merges_attributes_by_key_and_null_empty_or_empty_list_unsets(api: FlaskClient) -> None:
    user = post_user(api, **{ATTR: {"region": "EMEA", "department": "Finance",
                                    "sales_territories": ["US", "EU"], "cost_center": "CC-1"}})
    path = f"/api/scim/v2/Users/{user['id']}"
    response = patch(api, path, {"op": "replace", "value": {ATTR: {
        "department": "Sales", "region": None, "sales_territories": [], "cost_center": ""}}})
    assert response.status_code == 200
    assert response.json[ATTR] == {"department": "Sales"}
    response = patch(api, path, {"op": "replace", "path": "displayName", "value": "Ada L"},
                     {"op": "add", "path": f"{ATTR}:country", "value": "GB"})
    assert response.json["displayName"] == "Ada L"
    assert response.json[ATTR] == {"department": "Sales", "country": "GB"}


def test_attributes_must_be_defined_writable_and_of_their_type(api: FlaskClient) -> None:
    user = post_user(api)
    path = f"/api/scim/v2/Users/{user['id']}"
    for values in ({"no_such": "x"}, {"omni_user_email": "x@example.com"},
                   {"department": ["A", "B"]}):
        response = patch(api, path, {"op": "replace", "value": {ATTR: values}})
        assert response.status_code == 400, values
    assert api.get(path, headers=AUTH).json[ATTR] == {}


def test_put_replaces_the_whole_user_and_resets_what_it_omits(api: FlaskClient) -> None:
    user = post_user(api, **{ATTR: {"region": "EMEA", "department": "Finance"}})
    path = f"/api/scim/v2/Users/{user['id']}"
    patch(api, path, {"op": "replace", "path": "active", "value": False})
    response = api.put(path, headers=AUTH, json={"userName": "ada@example.com"})
    assert response.status_code == 200
    # Omitted optional fields are reset: attributes gone, active back to true, the name too.
    assert response.json[ATTR] == {}
    assert response.json["active"] is True
    assert response.json["displayName"] == "ada@example.com"


def test_deactivate_and_reactivate_keep_the_id_when_told_to(make_sandbox: Callable[..., Flask]) -> None:
    api = make_sandbox(reactivation="same-id").test_client()
    user = post_user(api)
    path = f"/api/scim/v2/Users/{user['id']}"
    assert patch(api, path, {"op": "replace", "path": "active", "value": False}).json["active"] is False
    back = patch(api, path, {"op": "replace", "value": {"active": True}}).json
    assert back["active"] is True and back["id"] == user["id"]


def test_reactivation_by_default_is_a_new_empty_account(api: FlaskClient) -> None:
    """The strict default, the worst Omni's guides allow: a new id, and none of the old
    account's groups, direct roles or attributes; only what the re-activating request
    itself sets."""
    user = post_user(api, **{ATTR: {"region": "EMEA", "department": "Finance"}})
    group = api.post("/api/scim/v2/Groups", headers=AUTH,
                     json={"displayName": "Finance", "members": [{"value": user["id"]}]}).json
    model = api.get("/api/v1/models", headers=AUTH).json["records"][0]
    assert api.post(f"/api/v1/users/{user['id']}/model-roles", headers=AUTH,
                    json={"modelId": model["id"], "roleName": "VIEWER"}).status_code == 200
    old = f"/api/scim/v2/Users/{user['id']}"
    patch(api, old, {"op": "replace", "path": "active", "value": False})
    back = patch(api, old, {"op": "replace", "path": "active", "value": True},
                 {"op": "replace", "value": {ATTR: {"department": "Sales"}}}).json
    assert back["id"] != user["id"] and back["active"] is True
    assert back[ATTR] == {"department": "Sales"}
    assert api.get(old, headers=AUTH).status_code == 404
    assert api.get(f"/api/scim/v2/Groups/{group['id']}", headers=AUTH).json["members"] == []
    roles = api.get(f"/api/v1/users/{back['id']}/model-roles", headers=AUTH).json["results"]
    assert [r for r in roles if r["from"]["type"] == "USER"] == []


def test_reactivation_may_mint_a_new_id_that_keeps_everything(make_sandbox: Callable[..., Flask]) -> None:
    api = make_sandbox(reactivation="carry-over").test_client()
    user = post_user(api)
    group = api.post("/api/scim/v2/Groups", headers=AUTH,
                     json={"displayName": "Finance", "members": [{"value": user["id"]}]}).json
    old = f"/api/scim/v2/Users/{user['id']}"
    patch(api, old, {"op": "replace", "path": "active", "value": False})
    back = patch(api, old, {"op": "replace", "path": "active", "value": True}).json
    assert back["id"] != user["id"] and back["active"] is True
    assert api.get(old, headers=AUTH).status_code == 404
    members = api.get(f"/api/scim/v2/Groups/{group['id']}", headers=AUTH).json["members"]
    assert [m["value"] for m in members] == [back["id"]]


def test_groups_short_ids_names_members(api: FlaskClient) -> None:
    users = [post_user(api, f"u{n}@example.com")["id"] for n in range(3)]
    assert api.post("/api/scim/v2/Groups", headers=AUTH,
                    json={"displayName": "x" * 65}).status_code == 400
    group = api.post("/api/scim/v2/Groups", headers=AUTH, json={"displayName": "x" * 64}).json
    assert len(group["id"]) == 8 and group["id"].isalnum()
    assert api.post("/api/scim/v2/Groups", headers=AUTH,
                    json={"displayName": "X" * 64}).status_code == 409
    path = f"/api/scim/v2/Groups/{group['id']}"
    added = patch(api, path, {"op": "add", "path": "members",
                              "value": [{"value": u} for u in users]}).json
    assert [m["value"] for m in added["members"]] == users
    removed = patch(api, path, {"op": "remove", "path": f'members[value eq "{users[1]}"]'}).json
    assert [m["value"] for m in removed["members"]] == [users[0], users[2]]
    listed = api.get(f'/api/scim/v2/Groups?filter=displayName eq "{"x" * 64}"&excludedAttributes=members',
                     headers=AUTH).json["Resources"]
    assert listed == [{"schemas": group["schemas"], "id": group["id"], "displayName": "x" * 64}]
    assert patch(api, path, {"op": "add", "path": "members",
                             "value": [{"value": "nobody"}]}).status_code == 400


def test_model_roles_are_upserts_and_need_a_model_except_connection_admin(
        api: FlaskClient, seed: dict[str, Any]) -> None:
    user = post_user(api)
    finance = next(m["id"] for m in seed["models"] if m["name"] == "finance")
    warehouse = next(c["id"] for c in seed["connections"] if c["name"] == "warehouse")
    path = f"/api/v1/users/{user['id']}/model-roles"
    assert api.post(path, headers=AUTH, json={"connectionId": warehouse,
                                              "roleName": "QUERIER"}).status_code == 400
    assert api.post(path, headers=AUTH, json={"modelId": finance,
                                              "roleName": "OWNER"}).status_code == 400
    for role in ("VIEWER", "MODELER"):
        response = api.post(path, headers=AUTH, json={"modelId": finance, "roleName": role})
        assert response.status_code == 200
    assert api.post(path, headers=AUTH, json={"connectionId": warehouse,
                                              "roleName": "CONNECTION_ADMIN"}).status_code == 200
    rows = api.get(f"{path}?modelId={finance}", headers=AUTH).json["results"]
    direct = [(r["roleName"], r["resolved"]) for r in rows if r["from"]["type"] == "USER"]
    assert sorted(direct) == [("CONNECTION_ADMIN", True), ("MODELER", False)]
    assert {r["from"]["type"] for r in rows} == {"USER", "BASE"}


def test_group_roles_reach_members(api: FlaskClient, seed: dict[str, Any]) -> None:
    user = post_user(api)
    group = api.post("/api/scim/v2/Groups", headers=AUTH,
                     json={"displayName": "Finance", "members": [{"value": user["id"]}]}).json
    sales = next(m["id"] for m in seed["models"] if m["name"] == "sales")
    response = api.post(f"/api/v1/user-groups/{group['id']}/model-roles", headers=AUTH,
                        json={"modelId": sales, "roleName": "QUERIER"})
    assert response.json["userGroupId"] == group["id"]
    rows = api.get(f"/api/v1/users/{user['id']}/model-roles?modelId={sales}", headers=AUTH).json
    from_group = [r for r in rows["results"] if r["from"]["type"] == "GROUP"]
    assert from_group[0]["from"]["miniUuid"] == group["id"] and from_group[0]["resolved"]


def test_connections_list_and_base_role(api: FlaskClient) -> None:
    rows = api.get("/api/v1/connections?name=WARE", headers=AUTH).json["connections"]
    assert [c["name"] for c in rows] == ["warehouse"]
    path = f"/api/v1/connections/{rows[0]['id']}"
    assert api.patch(path, headers=AUTH, json={}).status_code == 400
    assert api.patch(path, headers=AUTH, json={"baseRole": "VIEWER"}).json["success"] is True
    assert api.get("/api/v1/connections", headers=AUTH).json["connections"][1]["baseRole"] == "VIEWER"


def test_attribute_definitions_come_from_the_seed(api: FlaskClient, seed: dict[str, Any]) -> None:
    records = api.get("/api/v1/user-attributes", headers=AUTH).json["records"]
    assert {r["name"] for r in records} == {a["name"] for a in seed["user_attributes"]}
    system = [r for r in records if r["system"]]
    assert system and all(r["id"] == "" for r in system)


@pytest.mark.parametrize("retry_after", [True, False])
def test_429_past_the_per_key_rate(make_sandbox: Callable[..., Flask], clock: FakeClock,
                                   retry_after: bool) -> None:
    api = make_sandbox(rate_limit=3, retry_after=retry_after).test_client()
    statuses = [api.get("/api/v1/connections", headers=AUTH).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get("/api/v1/connections", headers=AUTH)
    assert limited.json == {"error": "429", "message": "Rate limit exceeded"}
    assert ("Retry-After" in limited.headers) is retry_after
    if retry_after:
        assert limited.headers["Retry-After"] == "60"
    # Another key has its own allowance; the first one's comes back after a minute.
    other = {"Authorization": f"Bearer {KEYS[1]}"}
    assert api.get("/api/v1/connections", headers=other).status_code == 200
    clock.now += 60
    assert api.get("/api/v1/connections", headers=AUTH).status_code == 200


def test_fault_injection_answers_500_before_doing_anything(make_sandbox: Callable[..., Flask]) -> None:
    api = make_sandbox(error_rate=1.0).test_client()
    response = api.post("/api/scim/v2/Users", headers=AUTH,
                        json={"userName": "a@example.com", "displayName": "A"})
    assert response.status_code == 500 and response.json["error"] == "500"


def test_state_survives_a_restart_and_the_file_is_replaced_atomically(
        sandbox: Flask, make_sandbox: Callable[..., Flask], tmp_path: Any) -> None:
    api = sandbox.test_client()
    user = post_user(api, **{ATTR: {"region": "EMEA"}})
    group = api.post("/api/scim/v2/Groups", headers=AUTH,
                     json={"displayName": "Finance", "members": [{"value": user["id"]}]}).json
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]  # no temporary left over
    restarted = make_sandbox().test_client()
    again = restarted.get(f"/api/scim/v2/Users/{user['id']}", headers=AUTH).json
    assert again[ATTR] == {"region": "EMEA"}
    members = restarted.get(f"/api/scim/v2/Groups/{group['id']}", headers=AUTH).json["members"]
    assert [m["value"] for m in members] == [user["id"]]
    reopened = SandboxStore.open(tmp_path / "sandbox.json", {})
    assert list(reopened.state.users) == [user["id"]]


def test_requests_the_spec_refuses_are_400_in_omnis_error_shape(api: FlaskClient) -> None:
    """The strict sandbox: what Omni's published spec does not allow is refused before
    anything is done, where the sandbox used to be kinder than Omni."""
    user = post_user(api)
    group = api.post("/api/scim/v2/Groups", headers=AUTH, json={"displayName": "Finance"}).json
    no_schemas = api.patch(f"/api/scim/v2/Users/{user['id']}", headers=AUTH,
                           json={"Operations": [{"op": "replace", "path": "displayName", "value": "X"}]})
    assert no_schemas.status_code == 400 and no_schemas.json["error"] == "400"
    assert "schemas" in no_schemas.json["message"]
    group_no_schemas = api.patch(f"/api/scim/v2/Groups/{group['id']}", headers=AUTH,
                                 json={"Operations": [{"op": "add", "path": "members",
                                                       "value": [{"value": user["id"]}]}]})
    assert group_no_schemas.status_code == 400
    not_a_uuid = patch(api, f"/api/scim/v2/Groups/{group['id']}",
                       {"op": "remove", "path": 'members[value eq "ada"]', "value": None})
    assert not_a_uuid.status_code == 400 and not_a_uuid.json["error"] == "400"
    bad_page = api.get("/api/v1/models", headers=AUTH, query_string={"modelKind": "NOPE"})
    assert bad_page.status_code == 400 and set(bad_page.json) == {"error", "message"}
    # Nothing was done by any of them.
    assert api.get(f"/api/scim/v2/Users/{user['id']}", headers=AUTH).json["displayName"] == "Ada"
    assert api.get(f"/api/scim/v2/Groups/{group['id']}", headers=AUTH).json["members"] == []
    # The same requests, valid, go through.
    assert patch(api, f"/api/scim/v2/Users/{user['id']}",
                 {"op": "replace", "path": "displayName", "value": "X"}).status_code == 200
