"""Microsoft Entra ID's group operations and later quirks, replayed against /scim/v2 (sources
and the user operations: test_entra.py, whose fixture and builders these use)."""

from __future__ import annotations

import uuid

from test_entra import entra_group, entra_members, entra_user, scim, without_emails  # noqa: F401 (scim is a fixture)
from test_okta import ENTERPRISE, GROUP, USER, Scim, group_ids, member_ids

# --- groups ------------------------------------------------------------------------------


def test_entra_group_operations(scim: Scim) -> None:
    first = scim.create("/Users", entra_user("Member_One@testuser.com"))
    second = scim.create("/Users", entra_user("Member_Two@testuser.com"))
    lookup = scim.search("/Groups", 'displayName eq "displayName"', excludedAttributes="members")
    assert lookup["totalResults"] == 0

    body = entra_group("displayName")
    group = scim.create("/Groups", body)
    assert group["schemas"] == [GROUP]
    assert group["externalId"] == body["externalId"]
    path = f"/Groups/{group['id']}"

    add = {"op": "Add", "path": "members", "value": entra_members([first["id"], second["id"]])}
    added = scim.patch(path, add, before=group)
    assert member_ids(added) == {first["id"], second["id"]}

    # Entra re-sends a member that is already there: no error, no duplicate.
    response = scim.call("PATCH", path, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                         "Operations": [{"op": "Add", "path": "members",
                                                         "value": entra_members([first["id"]])}]})
    assert sorted(m["value"] for m in response.get_json()["members"]) == sorted([first["id"], second["id"]])

    removed = scim.patch(path, {"op": "Remove", "path": "members", "value": entra_members([first["id"]])},
                         before=response.get_json())
    assert member_ids(removed) == {second["id"]}
    assert group_ids(scim.get(f"/Users/{first['id']}")) == set()
    assert group_ids(scim.get(f"/Users/{second['id']}")) == {group["id"]}

    renamed = scim.patch(path, {"op": "Replace", "path": "displayName", "value": "updatedDisplayName"},
                         before=removed)
    assert renamed["displayName"] == "updatedDisplayName"

    without_members = scim.get(f"{path}?excludedAttributes=members")
    assert "members" not in without_members
    assert without_members["displayName"] == "updatedDisplayName"
    found = scim.search("/Groups", 'displayName eq "updatedDisplayName"', excludedAttributes="members")
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert all("members" not in g for g in found["Resources"])
    assert member_ids(scim.get(path)) == {second["id"]}

    scim.delete(path)
    scim.error("GET", path, status=404)
    assert group_ids(scim.get(f"/Users/{second['id']}")) == set()


def test_entra_adds_500_members_and_removes_250_in_single_requests(scim: Scim) -> None:
    users = [scim.create("/Users", entra_user(f"Bulk_{i:03}@testuser.com"))["id"] for i in range(500)]
    group = scim.create("/Groups", entra_group("All Staff"))
    path = f"/Groups/{group['id']}"

    added = scim.patch(path, {"op": "Add", "path": "members", "value": entra_members(users)}, before=group)
    assert member_ids(added) == set(users)

    leaving, staying = users[::2], users[1::2]
    remove = {"op": "Remove", "path": "members", "value": entra_members(leaving)}
    removed = scim.patch(path, remove, before=added)
    assert member_ids(removed) == set(staying)

    stored = scim.get(path)
    assert len(stored["members"]) == 250
    assert member_ids(stored) == set(staying)
    listed = scim.search("/Users", startIndex=1, count=1000)
    memberships = {user["id"]: group_ids(user) for user in listed["Resources"]}
    assert len(memberships) == 500
    assert all(memberships[user_id] == {group["id"]} for user_id in staying)
    assert all(memberships[user_id] == set() for user_id in leaving)
    members_filter = scim.search("/Groups", f'members[value eq "{staying[0]}"]',
                                 excludedAttributes="members")
    assert [g["id"] for g in members_filter["Resources"]] == [group["id"]]
    assert scim.search("/Groups", f'members[value eq "{leaving[0]}"]')["totalResults"] == 0


def test_entra_add_of_the_work_email_replaces_its_value(scim: Scim) -> None:
    created = scim.create("/Users", entra_user("Test_User_addmail@testuser.com"))
    path = f"/Users/{created['id']}"

    # Entra sends "Add" rather than "Replace" when the work email changes.
    scim.patch(path, {"op": "Replace", "path": "title", "value": "tester"},
               {"op": "Add", "path": 'emails[type eq "work"].value', "value": "changed@joe.com"},
               before=created)

    stored = scim.get(path)
    assert stored["title"] == "tester"
    assert stored["emails"] == [{"primary": True, "type": "work", "value": "changed@joe.com"}]


def test_entra_removes_the_manager(scim: Scim) -> None:
    manager = scim.create("/Users", entra_user("Manager@testuser.com"))
    report = scim.create("/Users", entra_user("Report@testuser.com", department="Sales",
                                              manager={"value": manager["id"]}))
    path = f"/Users/{report['id']}"

    scim.patch(path, {"op": "Remove", "path": f"{ENTERPRISE}:manager"}, before=report)

    extension = scim.get(path)[ENTERPRISE]
    assert "manager" not in extension
    assert extension["department"] == "Sales"


def test_entra_looks_up_a_group_whose_name_needs_url_encoding(scim: Scim) -> None:
    group = scim.create("/Groups", entra_group("R&D + QA / EMEA"))

    found = scim.search("/Groups", 'displayName eq "r&d + qa / emea"', excludedAttributes="members")

    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert found["Resources"][0]["displayName"] == "R&D + QA / EMEA"


def test_entra_connection_probe_of_a_random_group_name_is_an_empty_list(scim: Scim) -> None:
    probe = scim.search("/Groups", f'displayName eq "{uuid.uuid4()}"', excludedAttributes="members")
    assert (probe["totalResults"], probe["Resources"]) == (0, [])


def test_entra_pathless_value_keys_may_be_value_paths(scim: Scim) -> None:
    created = scim.create("/Users", without_emails(entra_user("Test_User_vpath@testuser.com")))
    path = f"/Users/{created['id']}"

    scim.patch(path, {"op": "Add", "value": {
        'emails[type eq "work"].value': "vpath@microsoft.com",
        'emails[type eq "work"].primary': "True",
    }}, before=created)

    assert scim.get(path)["emails"] == [{"type": "work", "value": "vpath@microsoft.com", "primary": True}]


def test_entra_ignores_attributes_of_an_unknown_extension(scim: Scim) -> None:
    body = {
        **entra_user("Test_User_custom@testuser.com"),
        "urn:ietf:params:scim:schemas:extension:custom:2.0:User": {"worksiteId": "180"},
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute": "x",
    }

    created = scim.create("/Users", body)

    stored = scim.get(f"/Users/{created['id']}")
    assert stored["userName"] == "Test_User_custom@testuser.com"
    assert stored["schemas"] == [USER]


def test_entra_case_only_renames_are_not_conflicts(scim: Scim) -> None:
    user = scim.create("/Users", entra_user("test_user_case@testuser.com"))
    group = scim.create("/Groups", entra_group("sales team"))

    renamed = scim.patch(f"/Users/{user['id']}", {"op": "Replace", "path": "userName",
                                                  "value": "Test_User_Case@TestUser.com"}, before=user)
    regrouped = scim.patch(f"/Groups/{group['id']}", {"op": "Replace", "path": "displayName",
                                                      "value": "Sales Team"}, before=group)

    assert renamed["userName"] == "Test_User_Case@TestUser.com"
    assert scim.get(f"/Users/{user['id']}")["userName"] == "Test_User_Case@TestUser.com"
    assert regrouped["displayName"] == "Sales Team"
    assert scim.get(f"/Groups/{group['id']}")["displayName"] == "Sales Team"


def test_entra_fills_work_address_and_phones_one_sub_attribute_at_a_time(scim: Scim) -> None:
    created = scim.create("/Users", entra_user("Test_User_address@testuser.com"))
    path = f"/Users/{created['id']}"

    scim.patch(
        path,
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Microsoft Way"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 425 555 0100"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 425 555 0199"},
        before=created,
    )

    stored = scim.get(path)
    assert stored["addresses"] == [
        {"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "postalCode": "98052"}]
    phones = {phone["type"]: phone["value"] for phone in stored["phoneNumbers"]}
    assert phones == {"work": "+1 425 555 0100", "mobile": "+1 425 555 0199"}


def test_entra_creates_a_disabled_user_with_a_string_boolean(scim: Scim) -> None:
    created = scim.create("/Users", {**entra_user("Test_User_created_off@testuser.com"), "active": "False"})

    assert created["active"] is False
    assert scim.get(f"/Users/{created['id']}")["active"] is False
