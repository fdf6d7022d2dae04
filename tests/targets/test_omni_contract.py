"""Every request OmniTarget sends during a full workflow validates against Omni's
published OpenAPI spec (method, path template, parameters, JSON body); and every answer
of the sandbox to them validates against the same spec."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from conftest import http_for
from flask import Flask
from openapi_contract import SHARED_SPEC, VENDORED_SPEC, Contract

from sync.rules.tables import Role
from sync.targets.base import UserChanges, UserRef
from sync.targets.omni import OmniTarget


def test_the_sandboxs_packaged_spec_is_the_shared_one() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("shared/omni is not beside the repository")
    assert json.loads(VENDORED_SPEC.read_text()) == json.loads(SHARED_SPEC.read_text())


def full_workflow(omni: OmniTarget) -> None:
    ada = omni.create_user("ada@example.com", "Ada Lovelace",
                           {"department": "Finance", "sales_territories": ("US", "EU")})
    bob = omni.create_user("bob@example.com", "Bob")
    omni.create_user("ada@example.com", "Ada L.", {"region": "EMEA"})  # 409: adopt and PATCH
    assert omni.find_user("nobody@example.com") is None
    list(omni.list_users(page_size=1))
    omni.update_user(ada.ref, UserChanges(display_name="Ada", attributes={"region": None}))
    omni.update_user(UserRef("bob@example.com"), UserChanges(attributes={"country": "GB"}))
    omni.update_user(UserRef("bob@example.com", "0b6f0a4e-0000-4000-8000-000000000000"),
                     UserChanges(display_name="Bob B"))  # stale id: 404, lookup, PATCH
    omni.deactivate_user(bob.ref)
    bob = omni.reactivate_user(bob.ref)
    finance = omni.create_group("Finance", [ada.id])
    omni.create_group("Finance", [ada.id, bob.id])  # 409: adopt, add the missing member
    omni.add_members(finance.id, [ada.id, bob.id])
    omni.remove_member(finance.id, bob.id)
    assert omni.find_group("Finance") is not None
    list(omni.list_groups(page_size=1))
    omni.set_group_role(finance.id, "warehouse", "finance", Role.QUERIER)
    omni.set_user_role(ada.ref, "warehouse", "company", Role.VIEWER)
    omni.set_user_role(ada.ref, "warehouse", None, Role.CONNECTION_ADMIN)
    omni.user_roles(ada.ref)
    omni.group_roles(finance.id)
    omni.attribute_definitions()
    omni.set_connection_base_role("hr", Role.VIEWER)


def test_every_request_of_a_full_workflow_validates_against_the_spec(
        sandbox: Flask, make_omni: Callable[..., OmniTarget]) -> None:
    contract = Contract.load()
    exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def record(response: httpx.Response) -> None:
        response.read()
        exchanges.append((response.request, response))

    http = http_for(sandbox, event_hooks={"response": [record]})
    full_workflow(make_omni(http))
    operations = {contract.operation(r.method, r.url.path)[0]["operationId"]
                  for r, _ in exchanges if contract.operation(r.method, r.url.path)}
    assert operations == {
        "scimUsersList", "scimUsersCreate", "scimUsersUpdate", "scimGroupsList",
        "scimGroupsCreate", "scimGroupsUpdate", "usersAssignModelRole", "usersGetModelRoles",
        "userGroupsAssignModelRole", "userGroupsGetModelRoles", "userAttributesList",
        "connectionsList", "connectionsUpdate", "modelsList"}
    assert "PUT" not in {r.method for r, _ in exchanges}  # updates are PATCHes, never PUTs
    problems = [p for request, _ in exchanges for p in contract.request_problems(request)]
    assert problems == []
    answers = [p for request, response in exchanges
               for p in contract.response_problems(request, response)]
    assert answers == []


def test_the_contract_check_catches_bad_requests() -> None:
    contract = Contract.load()
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "active"}]}  # no value
    bad = [
        httpx.Request("PATCH", "https://x/api/scim/v2/Users/0b6f0a4e-0000-4000-8000-000000000000",
                      json=patch, headers={"Authorization": "Bearer k"}),
        httpx.Request("POST", "https://x/api/scim/v2/Users", json={"userName": "a@example.com"},
                      headers={"Authorization": "Bearer k"}),
        httpx.Request("GET", "https://x/api/scim/v2/Users?sortBy=userName",
                      headers={"Authorization": "Bearer k"}),
        httpx.Request("GET", "https://x/api/v1/documents", headers={"Authorization": "Bearer k"}),  # no such operation
        httpx.Request("GET", "https://x/api/v1/user-attributes"),
    ]
    assert all(contract.request_problems(request) for request in bad)


def test_the_sandbox_answers_the_rest_of_the_spec_as_it_describes(sandbox: Flask) -> None:
    """Operations OmniTarget never sends (PUT, GET by id, DELETE) still answer in the
    spec's shapes, so another client of the sandbox meets Omni's contract."""
    contract = Contract.load()
    http = http_for(sandbox)
    auth = {"Authorization": "Bearer key-a"}
    user = http.post("/api/scim/v2/Users", headers=auth,
                     json={"userName": "ada@example.com", "displayName": "Ada"}).json()
    group = http.post("/api/scim/v2/Groups", headers=auth, json={"displayName": "Finance"}).json()
    calls = [
        ("GET", f"/api/scim/v2/Users/{user['id']}", None),
        ("PUT", f"/api/scim/v2/Users/{user['id']}", {"userName": "ada@example.com"}),
        ("GET", f"/api/scim/v2/Groups/{group['id']}?excludedAttributes=members", None),
        ("PUT", f"/api/scim/v2/Groups/{group['id']}",
         {"displayName": "Finance", "members": [{"value": user["id"], "display": "Ada"}]}),
        ("GET", "/api/v1/connections?sortField=dialect&sortDirection=desc&includeDeleted=false", None),
        ("DELETE", f"/api/scim/v2/Groups/{group['id']}", None),
        ("DELETE", f"/api/scim/v2/Users/{user['id']}", None),
    ]
    for method, path, body in calls:
        response = http.request(method, path, headers=auth, json=body)
        assert response.status_code < 300, (method, path, response.text)
        assert contract.request_problems(response.request) == []
        assert contract.response_problems(response.request, response) == []
