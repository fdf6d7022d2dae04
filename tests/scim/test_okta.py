"""Okta's provisioning sequences, replayed request by request against /scim/v2.

Source: Okta Developer, "Okta and SCIM Version 2.0" (SCIM 2.0 protocol reference),
https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20 , and "Build a SCIM
provisioning integration". Okta assigns a user by first looking the userName up
(``GET /Users?filter=userName eq "x"&startIndex=1&count=100``), creating it with POST when
the list is empty, then reads it by id, updates it with PUT (the whole profile, ``id``,
``groups`` and ``password`` included), deactivates it with a path-less PATCH
``{"op": "replace", "value": {"active": false}}`` and reactivates it the same way; Okta
never DELETEs a user. Group Push creates the group with POST, changes membership with
PATCH (``add`` with path ``members``; ``remove`` with path ``members[value eq "id"]``),
renames it with a path-less ``replace`` whose value carries ``id`` and ``displayName``,
looks it up with ``filter=displayName eq``, and DELETEs it when the push is unlinked.

The helpers here (``Scim``, the schema URNs) are shared with ``test_entra.py`` and
``test_other_idps.py``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

SCIM_ROOT = "/scim/v2"
CONTENT_TYPE = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Scim:
    """An identity provider's side of the conversation: each call checks the status it
    expects and the SCIM content type, and returns the parsed body."""

    client: FlaskClient
    auth: dict[str, str]

    def call(self, method: str, path: str, body: Any = None, *, status: int = 200,
             headers: dict[str, str] | None = None) -> TestResponse:
        response = self.client.open(
            SCIM_ROOT + path, method=method, headers={**self.auth, **(headers or {})},
            data=None if body is None else json.dumps(body), content_type=CONTENT_TYPE)
        shown = response.get_data(as_text=True)[:2000]
        assert response.status_code == status, f"{method} {path} -> {response.status_code}: {shown}"
        if status != 204:
            assert response.mimetype == CONTENT_TYPE, f"{method} {path}: {response.content_type}"
        return response

    def get(self, path: str, *, status: int = 200) -> dict[str, Any]:
        return self.call("GET", path, status=status).get_json()

    def search(self, endpoint: str, filter: str | None = None, **params: Any) -> dict[str, Any]:
        """A list request with its query string encoded the way IdPs encode it (%20, %22)."""
        query = {**({"filter": filter} if filter is not None else {}), **params}
        text = "&".join(f"{key}={quote(str(value), safe='')}" for key, value in query.items())
        body = self.get(f"{endpoint}?{text}" if text else endpoint)
        assert body["schemas"] == [LIST_RESPONSE]
        assert body["itemsPerPage"] == len(body["Resources"])
        return body

    def create(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST, and the RFC 7644 3.3 answer: 201, Location and ETag naming what was made."""
        response = self.call("POST", endpoint, body, status=201)
        created = response.get_json()
        assert created["id"]
        assert response.headers["Location"] == created["meta"]["location"]
        assert created["meta"]["location"].endswith(f"{SCIM_ROOT}{endpoint}/{created['id']}")
        assert response.headers["ETag"] == created["meta"]["version"]
        return created

    def write(self, method: str, path: str, body: dict[str, Any], *, before: dict[str, Any],
              status: int = 200) -> dict[str, Any]:
        """A PUT or PATCH that must change the resource: a new version, in the ETag too."""
        response = self.call(method, path, body, status=status)
        written = response.get_json()
        assert written["meta"]["version"] != before["meta"]["version"], f"{method} {path}: same version"
        assert response.headers["ETag"] == written["meta"]["version"]
        return written

    def patch(self, path: str, *operations: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
        return self.write("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)},
                          before=before)

    def delete(self, path: str) -> None:
        response = self.call("DELETE", path, status=204)
        assert response.get_data() == b""

    def error(self, method: str, path: str, body: Any = None, *, status: int,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        """An RFC 7644 3.12 error body."""
        error = self.call(method, path, body, status=status, headers=headers).get_json()
        assert error["schemas"] == [ERROR]
        assert error["status"] == str(status)
        assert error["detail"]
        return error


@pytest.fixture
def scim(client: FlaskClient, auth: dict[str, str]) -> Scim:
    return Scim(client, auth)


def okta_user(user_name: str, given: str = "Test", family: str = "User") -> dict[str, Any]:
    """Okta's create-user body, as in its SCIM 2.0 reference (password and empty groups too)."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": "00u" + uuid.uuid4().hex[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def member_ids(group: dict[str, Any]) -> set[str]:
    return {member["value"] for member in group.get("members", [])}


def group_ids(user: dict[str, Any]) -> set[str]:
    return {group["value"] for group in user.get("groups", [])}


# --- users -------------------------------------------------------------------------------


def test_okta_assigns_a_new_user_after_an_empty_lookup(scim: Scim) -> None:
    lookup = scim.search("/Users", 'userName eq "test.user@okta.local"', startIndex=1, count=100)
    assert (lookup["totalResults"], lookup["startIndex"], lookup["Resources"]) == (0, 1, [])

    body = okta_user("test.user@okta.local")
    created = scim.create("/Users", body)
    assert created["schemas"] == [USER]
    assert created["userName"] == "test.user@okta.local"
    assert created["active"] is True
    assert created["externalId"] == body["externalId"]
    assert "password" not in created  # writeOnly, never returned (RFC 7643 4.1.1)

    response = scim.call("GET", f"/Users/{created['id']}")
    fetched = response.get_json()
    assert response.headers["ETag"] == fetched["meta"]["version"] == created["meta"]["version"]
    assert fetched["name"] == {"givenName": "Test", "familyName": "User"}
    assert fetched["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert fetched["displayName"] == "Test User"
    assert fetched["locale"] == "en-US"

    again = scim.search("/Users", 'userName eq "test.user@okta.local"', startIndex=1, count=100)
    assert again["totalResults"] == 1
    assert [user["id"] for user in again["Resources"]] == [created["id"]]


def test_okta_profile_update_is_a_put_of_the_whole_user(scim: Scim) -> None:
    created = scim.create("/Users", okta_user("test.user@okta.local"))
    path = f"/Users/{created['id']}"
    profile = {
        **okta_user("test.user@okta.local", given="Another", family="User"),
        "id": created["id"],
        "externalId": created["externalId"],
        "name": {"givenName": "Another", "middleName": "Excellent", "familyName": "User"},
        "displayName": "Another User",
        "meta": {"resourceType": "User"},
    }

    updated = scim.write("PUT", path, profile, before=created)
    assert updated["id"] == created["id"]
    assert updated["meta"]["created"] == created["meta"]["created"]

    stored = scim.get(path)
    assert stored["name"] == {"givenName": "Another", "middleName": "Excellent", "familyName": "User"}
    assert stored["displayName"] == "Another User"
    assert stored["meta"]["version"] == updated["meta"]["version"]


def test_okta_deactivates_and_reactivates_with_a_pathless_replace(scim: Scim) -> None:
    created = scim.create("/Users", okta_user("test.user@okta.local"))
    path = f"/Users/{created['id']}"

    deactivated = scim.patch(path, {"op": "replace", "value": {"active": False}}, before=created)
    assert deactivated["active"] is False
    stored = scim.get(path)
    assert stored["active"] is False
    assert stored["name"] == created["name"]  # a partial update leaves the rest alone
    assert scim.search("/Users", "active eq false")["totalResults"] == 1

    reactivated = scim.patch(path, {"op": "replace", "value": {"active": True}}, before=deactivated)
    assert reactivated["active"] is True
    assert scim.get(path)["active"] is True


def test_okta_create_of_a_taken_user_name_in_another_case_is_a_409(scim: Scim) -> None:
    scim.create("/Users", okta_user("test.user@okta.local"))

    error = scim.error("POST", "/Users", okta_user("Test.User@OKTA.local"), status=409)
    assert error["scimType"] == "uniqueness"
    # Okta then finds the existing user by the same lookup, case-insensitively.
    found = scim.search("/Users", 'userName eq "TEST.USER@okta.local"', startIndex=1, count=100)
    assert found["totalResults"] == 1


def test_okta_reads_of_an_unknown_id_are_404(scim: Scim) -> None:
    unknown = str(uuid.uuid4())
    scim.error("GET", f"/Users/{unknown}", status=404)
    scim.error("GET", f"/Groups/{unknown}", status=404)
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    scim.error("PATCH", f"/Users/{unknown}", patch, status=404)
    scim.error("PUT", f"/Users/{unknown}", okta_user("ghost@okta.local"), status=404)


# --- Group Push ----------------------------------------------------------------------------


def test_okta_group_push(scim: Scim) -> None:
    users = [scim.create("/Users", okta_user(f"user{i}@okta.local")) for i in range(3)]
    lookup = scim.search("/Groups", 'displayName eq "Test SCIMv2"', startIndex=1, count=100)
    assert lookup["totalResults"] == 0

    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert group["schemas"] == [GROUP]
    assert group["displayName"] == "Test SCIMv2"
    assert member_ids(group) == set()
    path = f"/Groups/{group['id']}"

    added = scim.patch(path, {"op": "add", "path": "members", "value": [
        {"value": user["id"], "display": user["userName"]} for user in users]}, before=group)
    assert member_ids(added) == {user["id"] for user in users}

    # Okta's membership update: a remove by value filter and an add in one request.
    newcomer = scim.create("/Users", okta_user("newcomer@okta.local"))
    changed = scim.patch(
        path,
        {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'},
        {"op": "add", "path": "members",
         "value": [{"value": newcomer["id"], "display": newcomer["userName"]}]},
        before=added,
    )
    expected = {users[1]["id"], users[2]["id"], newcomer["id"]}
    assert member_ids(changed) == expected
    assert member_ids(scim.get(path)) == expected
    assert group_ids(scim.get(f"/Users/{users[0]['id']}")) == set()
    assert group_ids(scim.get(f"/Users/{newcomer['id']}")) == {group["id"]}

    rename = {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv2 renamed"}}
    renamed = scim.patch(path, rename, before=changed)
    assert renamed["displayName"] == "Test SCIMv2 renamed"
    assert member_ids(renamed) == expected  # a rename keeps the members
    found = scim.search("/Groups", 'displayName eq "Test SCIMv2 renamed"', startIndex=1, count=100)
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert scim.search("/Groups", 'displayName eq "Test SCIMv2"')["totalResults"] == 0
    assert [g["display"] for g in scim.get(f"/Users/{newcomer['id']}")["groups"]] == ["Test SCIMv2 renamed"]

    scim.delete(path)
    scim.error("GET", path, status=404)
    assert group_ids(scim.get(f"/Users/{newcomer['id']}")) == set()


def test_okta_group_push_of_a_taken_name_is_a_409(scim: Scim) -> None:
    scim.create("/Groups", {"schemas": [GROUP], "displayName": "Engineering", "members": []})

    error = scim.error("POST", "/Groups", {"schemas": [GROUP], "displayName": "ENGINEERING", "members": []},
                       status=409)
    assert error["scimType"] == "uniqueness"


def test_okta_group_push_adds_500_members_and_removes_250_in_single_requests(scim: Scim) -> None:
    users = [scim.create("/Users", okta_user(f"bulk{i:03}@okta.local"))["id"] for i in range(500)]
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "All Staff", "members": []})
    path = f"/Groups/{group['id']}"

    added = scim.patch(path, {"op": "add", "path": "members",
                              "value": [{"value": user_id} for user_id in users]}, before=group)
    assert member_ids(added) == set(users)

    leaving, staying = users[:250], users[250:]
    removals = [{"op": "remove", "path": f'members[value eq "{user_id}"]'} for user_id in leaving]
    removed = scim.patch(path, *removals, before=added)
    assert member_ids(removed) == set(staying)

    stored = scim.get(path)
    assert len(stored["members"]) == 250
    assert member_ids(stored) == set(staying)
    listed = scim.search("/Users", startIndex=1, count=1000)
    assert listed["totalResults"] == 500
    memberships = {user["id"]: group_ids(user) for user in listed["Resources"]}
    assert {user_id for user_id, groups in memberships.items() if groups == {group["id"]}} == set(staying)
    assert all(memberships[user_id] == set() for user_id in leaving)
    assert group_ids(scim.get(f"/Users/{staying[0]}")) == {group["id"]}
    assert group_ids(scim.get(f"/Users/{leaving[0]}")) == set()


def test_okta_put_with_empty_groups_keeps_the_memberships(scim: Scim) -> None:
    user = scim.create("/Users", okta_user("test.user@okta.local"))
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    scim.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
               before=group)
    profile = {**okta_user("test.user@okta.local", given="Another"), "id": user["id"]}

    # "groups" is readOnly (RFC 7643 4.1.2): Okta's "groups": [] must not empty them.
    scim.write("PUT", f"/Users/{user['id']}", profile, before=user)

    assert group_ids(scim.get(f"/Users/{user['id']}")) == {group["id"]}
    assert member_ids(scim.get(f"/Groups/{group['id']}")) == {user["id"]}


def test_okta_removing_a_member_that_is_gone_is_not_an_error(scim: Scim) -> None:
    user = scim.create("/Users", okta_user("test.user@okta.local"))
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    remove = {"schemas": [PATCH_OP],
              "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}]}

    unchanged = scim.call("PATCH", f"/Groups/{group['id']}", remove).get_json()

    assert member_ids(unchanged) == set()
    assert unchanged["meta"]["version"] == group["meta"]["version"]


def test_okta_imports_users_and_groups_page_by_page(scim: Scim) -> None:
    ids = [scim.create("/Users", okta_user(f"page{i}@okta.local"))["id"] for i in range(5)]
    scim.create("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})

    pages = [scim.search("/Users", startIndex=start, count=2) for start in (1, 3, 5)]

    assert [page["totalResults"] for page in pages] == [5, 5, 5]
    assert [page["startIndex"] for page in pages] == [1, 3, 5]
    assert [len(page["Resources"]) for page in pages] == [2, 2, 1]
    assert sorted(user["id"] for page in pages for user in page["Resources"]) == sorted(ids)
    groups = scim.search("/Groups", excludedAttributes="members", startIndex=1, count=100)
    assert groups["totalResults"] == 1
    assert "members" not in groups["Resources"][0]
