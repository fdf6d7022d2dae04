"""Shorter provisioning sequences for OneLogin, JumpCloud and Google Workspace.

OneLogin: "Step 2. Implement RESTful SCIM APIs for Your App" (Example API Flow),
https://developers.onelogin.com/scim/implement-scim-api . OneLogin first probes with a
Get User by a userName it knows does not exist and accepts an empty list; then it looks the
user up by userName, creates it, reads it by id, updates it with PUT, lists and creates
groups, PATCHes group membership, deletes the user and lists users. The stored copy of the
page lists the calls but not their bodies, so the bodies follow RFC 7644 (cited per request).

JumpCloud: "Identity Management using a Custom SCIM Integration",
https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-identity-management-integration .
Its connection test creates a test user and a test group and DELETEs both; users are
otherwise deactivated. Bodies follow RFC 7644, as the page does not show them.

Google Workspace: no Google documentation of the requests its auto-provisioning sends was
found in the stored corpora; a third-party integration guide ("SCIM 2.0 with Google
Workspace", authn.sh) says Google probes ``GET /Users?count=1``. Everything else here is
the RFC 7644 examples (sections 3.3, 3.4.2.2, 3.5.1, 3.5.2.1-3.5.2.3, 3.6 and 3.14),
replayed verbatim where they apply.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from test_okta import ENTERPRISE, GROUP, PATCH_OP, USER, Scim, group_ids, member_ids


@pytest.fixture
def scim(client: FlaskClient, auth: dict[str, str]) -> Scim:
    return Scim(client, auth)


def rfc_user(user_name: str = "bjensen", **extra: Any) -> dict[str, Any]:
    """RFC 7644 section 3.3's create request."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "externalId": user_name,
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        **extra,
    }


# --- OneLogin -----------------------------------------------------------------------------


def test_onelogin_example_api_flow(scim: Scim) -> None:
    probe = scim.search("/Users", f'userName eq "onelogin-probe-{uuid.uuid4()}@example.com"')
    assert (probe["totalResults"], probe["Resources"]) == (0, [])

    assert scim.search("/Users", 'userName eq "katie@onelogin.example"')["totalResults"] == 0
    body = rfc_user("katie@onelogin.example", emails=[{"value": "katie@onelogin.example", "primary": True}],
                    active=True)
    user = scim.create("/Users", body)
    path = f"/Users/{user['id']}"
    assert scim.get(path)["userName"] == "katie@onelogin.example"

    update = {**body, "name": {"givenName": "Katherine", "familyName": "Jensen"}, "title": "Engineer"}
    updated = scim.write("PUT", path, update, before=user)
    stored = scim.get(path)
    assert stored["name"] == {"givenName": "Katherine", "familyName": "Jensen"}
    assert stored["title"] == "Engineer"
    assert stored["meta"]["version"] == updated["meta"]["version"]

    assert scim.search("/Groups")["totalResults"] == 0
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "OneLogin Admins"})
    group_path = f"/Groups/{group['id']}"
    with_member = scim.patch(group_path, {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
                             before=group)
    assert member_ids(with_member) == {user["id"]}
    assert group_ids(scim.get(path)) == {group["id"]}
    without = scim.patch(group_path, {"op": "remove", "path": f'members[value eq "{user["id"]}"]'},
                         before=with_member)
    assert member_ids(without) == set()
    scim.patch(group_path, {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
               before=without)

    scim.delete(path)
    scim.error("GET", path, status=404)
    assert member_ids(scim.get(group_path)) == set()
    listed = scim.search("/Users")
    assert (listed["totalResults"], listed["Resources"]) == (0, [])


# --- JumpCloud ----------------------------------------------------------------------------


def test_jumpcloud_connection_test_creates_and_deletes_a_test_user_and_group(scim: Scim) -> None:
    user = scim.create("/Users", rfc_user("jumpcloud.test.user@example.com", active=True))
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "JumpCloud Test Group",
                                    "members": [{"value": user["id"]}]})
    assert member_ids(group) == {user["id"]}

    scim.delete(f"/Groups/{group['id']}")
    scim.delete(f"/Users/{user['id']}")

    scim.error("GET", f"/Groups/{group['id']}", status=404)
    scim.error("GET", f"/Users/{user['id']}", status=404)
    assert scim.search("/Groups", 'displayName eq "JumpCloud Test Group"')["totalResults"] == 0
    # The connection test can be run again: the names are free once more.
    scim.create("/Users", rfc_user("jumpcloud.test.user@example.com", active=True))
    scim.create("/Groups", {"schemas": [GROUP], "displayName": "JumpCloud Test Group"})


def test_jumpcloud_deactivates_a_user_that_leaves_scope(scim: Scim) -> None:
    user = scim.create("/Users", rfc_user("leaver@jumpcloud.example", active=True,
                                          **{ENTERPRISE: {"employeeNumber": "42"}}))
    path = f"/Users/{user['id']}"

    deactivated = scim.patch(path, {"op": "replace", "path": "active", "value": False}, before=user)

    assert deactivated["active"] is False
    stored = scim.get(path)
    assert stored["active"] is False
    assert stored[ENTERPRISE] == {"employeeNumber": "42"}
    inactive = scim.search("/Users", 'active eq false and userName eq "leaver@jumpcloud.example"')
    assert inactive["totalResults"] == 1


# --- Google Workspace (RFC 7644 examples) -------------------------------------------------


def test_google_probe_lists_one_user(scim: Scim) -> None:
    empty = scim.search("/Users", count=1)
    assert (empty["totalResults"], empty["Resources"]) == (0, [])
    scim.create("/Users", rfc_user("bjensen"))
    scim.create("/Users", rfc_user("jsmith"))

    probe = scim.search("/Users", count=1)

    assert probe["totalResults"] == 2
    assert probe["itemsPerPage"] == 1


def test_rfc_7644_user_lifecycle(scim: Scim) -> None:
    user = scim.create("/Users", rfc_user())
    path = f"/Users/{user['id']}"
    assert scim.get(path)["name"]["formatted"] == "Ms. Barbara J Jensen III"

    # 3.5.1: PUT replaces the whole resource; attributes left out are cleared.
    replaced = scim.write("PUT", path, {
        "schemas": [USER], "id": user["id"], "userName": "bjensen", "externalId": "bjensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane"},
        "roles": [], "userType": "Employee",
        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}],
    }, before=user)
    assert replaced["name"]["middleName"] == "Jane"

    # 3.5.2.3: a path-less replace of several attributes at once.
    patched = scim.patch(path, {"op": "replace", "value": {
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}], "nickName": "Babs"}},
        before=replaced)
    stored = scim.get(path)
    assert stored["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert stored["nickName"] == "Babs"
    assert stored["userType"] == "Employee"

    suspended = scim.patch(path, {"op": "replace", "path": "active", "value": False}, before=patched)
    assert suspended["active"] is False
    assert scim.get(path)["active"] is False

    scim.delete(path)  # 3.6
    scim.error("GET", path, status=404)


def test_rfc_7644_address_replace_by_value_filter(scim: Scim) -> None:
    user = scim.create("/Users", rfc_user(addresses=[
        {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
         "region": "CA", "postalCode": "91608", "country": "USA", "primary": True},
        {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"},
    ]))
    path = f"/Users/{user['id']}"

    scim.patch(path, {"op": "replace", "path": 'addresses[type eq "work"].streetAddress',
                      "value": "1010 Broadway Ave"}, before=user)

    addresses = {a["type"]: a for a in scim.get(path)["addresses"]}
    assert addresses["work"]["streetAddress"] == "1010 Broadway Ave"
    assert addresses["work"]["postalCode"] == "91608"
    assert addresses["home"]["streetAddress"] == "456 Hollywood Blvd"


def test_rfc_7644_group_membership_examples(scim: Scim) -> None:
    babs = scim.create("/Users", rfc_user("bjensen"))
    james = scim.create("/Users", rfc_user("jsmith"))
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": "Tour Guides"})
    path = f"/Groups/{group['id']}"

    # 3.5.2.1: add a member given with display and $ref.
    added = scim.patch(path, {"op": "add", "path": "members", "value": [
        {"display": "Babs Jensen", "$ref": babs["meta"]["location"], "value": babs["id"]}]}, before=group)
    assert member_ids(added) == {babs["id"]}

    # 3.5.2.2 then 3.5.2.3: swap the members in one request, then replace them outright.
    swapped = scim.patch(path, {"op": "remove", "path": "members"},
                         {"op": "add", "path": "members",
                          "value": [{"display": "James Smith", "value": james["id"]}]},
                         before=added)
    assert member_ids(swapped) == {james["id"]}
    replaced = scim.patch(path, {"op": "replace", "path": "members", "value": [
        {"value": babs["id"]}, {"value": james["id"]}]}, before=swapped)
    assert member_ids(replaced) == {babs["id"], james["id"]}
    assert group_ids(scim.get(f"/Users/{babs['id']}")) == {group["id"]}

    # 3.5.2.2: remove every member.
    emptied = scim.patch(path, {"op": "remove", "path": "members"}, before=replaced)
    assert member_ids(emptied) == set()
    assert member_ids(scim.get(path)) == set()
    assert group_ids(scim.get(f"/Users/{james['id']}")) == set()


def test_rfc_7644_stale_if_match_is_412_and_current_one_applies(scim: Scim) -> None:
    user = scim.create("/Users", rfc_user())
    path = f"/Users/{user['id']}"
    changed = scim.patch(path, {"op": "replace", "path": "nickName", "value": "Babs"}, before=user)
    rename = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "nickName", "value": "B"}]}

    scim.error("PATCH", path, rename, status=412, headers={"If-Match": user["meta"]["version"]})
    assert scim.get(path)["nickName"] == "Babs"

    response = scim.call("PATCH", path, rename, headers={"If-Match": changed["meta"]["version"]})
    assert response.get_json()["nickName"] == "B"
    assert scim.get(path)["nickName"] == "B"


def test_rfc_7644_filter_string_with_escaped_quotes(scim: Scim) -> None:
    # RFC 7644 3.4.2.2: compValue is a JSON string (RFC 7159), so \" is a quote inside it.
    group = scim.create("/Groups", {"schemas": [GROUP], "displayName": 'R&D "Core"'})

    found = scim.search("/Groups", 'displayName eq "R&D \\"Core\\""')

    assert [g["id"] for g in found["Resources"]] == [group["id"]]
