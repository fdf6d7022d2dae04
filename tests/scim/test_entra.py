"""Microsoft Entra ID's provisioning sequences, replayed request by request against /scim/v2.

Sources: Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint in
Microsoft Entra ID" (the "User Operations" and "Group Operations" request/response pairs),
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ,
and "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
user provisioning service",
https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility .

A Microsoft Q&A thread, "Entra ID patch sending Add instead of Replace",
https://learn.microsoft.com/en-us/answers/questions/1684621/entra-id-patch-sending-add-instead-of-replace ,
shows the "Add" of ``emails[type eq "work"].value`` and a custom extension block on create.

What Entra does that the RFC examples don't: it probes the endpoint with
``filter=userName eq "<random guid>"`` and wants 200 with an empty list; it matches users
by ``userName`` or ``externalId`` (or, when an admin maps it so, by
``emails[type eq "work"].value``); it capitalises op
names ("Replace", "Add", "Remove"); it sends booleans as strings ("False"); it sends
path-less replaces whose keys are dotted ("name.givenName") or schema-qualified
("urn:...:enterprise:2.0:User:department"); it sets the manager as a bare id string; it
replaces ``emails[type eq "work"].value`` on users that have no work email yet; it removes
members with ``path: "members"`` and a value list (with ``"$ref": null``); it reads groups
with ``excludedAttributes=members``; and it DELETEs users that are hard-deleted.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from test_okta import ENTERPRISE, GROUP, USER, Scim, member_ids

from sync.db import session_scope
from sync.people.merged import Scope, merged_people
from sync.rules import load_dir

# Entra lists this Azure AD schema in the schemas of the groups it creates.
AD_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"


@pytest.fixture
def scim(client: FlaskClient, auth: dict[str, str]) -> Scim:
    return Scim(client, auth)


def entra_user(user_name: str, **enterprise: Any) -> dict[str, Any]:
    """Entra's create-user body, as in the tutorial (with ``meta`` and an empty ``roles``)."""
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name.split('@')[0]}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    if enterprise:
        body[ENTERPRISE] = enterprise
    return body


def without_emails(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "emails"}


def entra_members(ids: list[str]) -> list[dict[str, Any]]:
    """Members as Entra sends them, with a null $ref."""
    return [{"$ref": None, "value": member_id} for member_id in ids]


def entra_group(display_name: str) -> dict[str, Any]:
    return {"schemas": [GROUP, AD_GROUP], "externalId": str(uuid.uuid4()),
            "displayName": display_name, "meta": {"resourceType": "Group"}}


# --- users -------------------------------------------------------------------------------


def test_entra_connection_probe_of_a_random_user_name_is_an_empty_list(scim: Scim) -> None:
    probe = scim.search("/Users", f'userName eq "{uuid.uuid4()}"')
    assert probe["totalResults"] == 0
    assert probe["Resources"] == []


def test_entra_creates_a_user_with_the_enterprise_extension_and_a_manager(scim: Scim) -> None:
    manager = scim.create("/Users", entra_user("Test_Manager@testuser.com"))
    assert scim.search("/Users", 'userName eq "Test_User_ab6490ee@testuser.com"')["totalResults"] == 0

    body = entra_user("Test_User_ab6490ee@testuser.com", employeeNumber="701984", costCenter="4130",
                      organization="Universal Studios", division="Theme Park",
                      department="Tour Operations", manager={"value": manager["id"]})
    created = scim.create("/Users", body)
    assert created["schemas"] == [USER, ENTERPRISE]

    stored = scim.get(f"/Users/{created['id']}")
    assert stored["externalId"] == body["externalId"]
    assert stored["active"] is True
    assert stored["name"] == body["name"]
    extension = stored[ENTERPRISE]
    assert extension["employeeNumber"] == "701984"
    assert extension["department"] == "Tour Operations"
    assert extension["costCenter"] == "4130"
    assert extension["manager"]["value"] == manager["id"]

    by_external_id = scim.search("/Users", f'externalId eq "{body["externalId"]}"')
    assert [user["id"] for user in by_external_id["Resources"]] == [created["id"]]
    work_email = 'emails[type eq "work"].value eq "Test_User_ab6490ee@testuser.com"'
    by_work_email = scim.search("/Users", work_email)
    assert [user["id"] for user in by_work_email["Resources"]] == [created["id"]]


def test_entra_updates_multi_and_single_valued_properties(scim: Scim) -> None:
    created = scim.create("/Users", entra_user("Test_User_fd0ea19b@testuser.com"))
    path = f"/Users/{created['id']}"

    multi = scim.patch(
        path,
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        before=created,
    )
    stored = scim.get(path)
    assert stored["emails"] == [{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}]
    assert stored["name"]["familyName"] == "updatedFamilyName"
    assert stored["name"]["givenName"] == "givenName"

    single = scim.patch(path, {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"},
                        before=multi)
    assert single["userName"] == "5b50642d@testuser.com"
    assert scim.get(path)["userName"] == "5b50642d@testuser.com"
    assert scim.search("/Users", 'userName eq "Test_User_fd0ea19b@testuser.com"')["totalResults"] == 0
    assert scim.search("/Users", 'userName eq "5b50642d@testuser.com"')["totalResults"] == 1


def test_entra_string_booleans_are_stored_as_booleans(scim: Scim) -> None:
    created = scim.create("/Users", entra_user("Test_User_disable@testuser.com"))
    path = f"/Users/{created['id']}"

    disabled = scim.patch(path, {"op": "Replace", "path": "active", "value": "False"}, before=created)
    assert disabled["active"] is False
    assert scim.get(path)["active"] is False
    assert scim.search("/Users", "active eq false")["totalResults"] == 1

    enabled = scim.patch(path, {"op": "Replace", "value": {"active": "True"}}, before=disabled)
    assert enabled["active"] is True
    assert scim.get(path)["active"] is True

    disabled_again = scim.patch(path, {"op": "Replace", "value": {"active": "False"}}, before=enabled)
    assert disabled_again["active"] is False
    assert scim.get(path)["active"] is False


def test_entra_pathless_replace_with_dotted_and_qualified_keys(scim: Scim) -> None:
    created = scim.create("/Users", entra_user("Test_User_pathless@testuser.com", department="Sales"))
    path = f"/Users/{created['id']}"

    scim.patch(path, {"op": "Replace", "value": {
        "name.givenName": "Barbara",
        "name.familyName": "Jensen",
        "displayName": "Barbara Jensen",
        f"{ENTERPRISE}:department": "Marketing",
        f"{ENTERPRISE}:employeeNumber": "1234",
    }}, before=created)

    stored = scim.get(path)
    assert stored["name"] == {"formatted": "givenName familyName", "givenName": "Barbara",
                              "familyName": "Jensen"}
    assert stored["displayName"] == "Barbara Jensen"
    assert stored[ENTERPRISE]["department"] == "Marketing"
    assert stored[ENTERPRISE]["employeeNumber"] == "1234"
    assert "name.givenName" not in stored and f"{ENTERPRISE}:department" not in stored
    assert scim.search("/Users", f'{ENTERPRISE}:employeeNumber eq "1234"')["totalResults"] == 1


def test_entra_sets_the_manager_as_a_bare_id_and_as_an_object(scim: Scim) -> None:
    first = scim.create("/Users", entra_user("Manager_One@testuser.com"))
    second = scim.create("/Users", entra_user("Manager_Two@testuser.com"))
    report = scim.create("/Users", entra_user("Report@testuser.com"))
    path = f"/Users/{report['id']}"
    manager_path = f"{ENTERPRISE}:manager"

    as_string = scim.patch(path, {"op": "Replace", "path": manager_path, "value": first["id"]},
                           before=report)
    assert scim.get(path)[ENTERPRISE]["manager"]["value"] == first["id"]

    scim.patch(path, {"op": "Replace", "path": manager_path, "value": {"value": second["id"]}},
               before=as_string)
    assert scim.get(path)[ENTERPRISE]["manager"]["value"] == second["id"]


def test_entra_replaces_a_work_email_the_user_does_not_have_yet(scim: Scim) -> None:
    created = scim.create("/Users", without_emails(entra_user("Test_User_noemail@testuser.com")))
    assert "emails" not in created
    path = f"/Users/{created['id']}"

    scim.patch(path, {"op": "Replace", "path": 'emails[type eq "work"].value',
                      "value": "new@microsoft.com"}, before=created)

    assert scim.get(path)["emails"] == [{"type": "work", "value": "new@microsoft.com"}]
    found = scim.search("/Users", 'emails[type eq "work"].value eq "new@microsoft.com"')
    assert [user["id"] for user in found["Resources"]] == [created["id"]]


def test_entra_create_of_a_taken_user_name_in_another_case_is_a_409(scim: Scim) -> None:
    scim.create("/Users", entra_user("Test_User_dup@testuser.com"))

    error = scim.error("POST", "/Users", entra_user("TEST_USER_DUP@TestUser.com"), status=409)
    assert error["scimType"] == "uniqueness"
    assert scim.search("/Users")["totalResults"] == 1


def test_entra_renaming_onto_a_taken_user_name_is_a_409_and_changes_nothing(scim: Scim) -> None:
    scim.create("/Users", entra_user("Taken@testuser.com"))
    other = scim.create("/Users", entra_user("Other@testuser.com"))
    path = f"/Users/{other['id']}"
    rename = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "Replace", "path": "userName", "value": "taken@TESTUSER.com"}]}

    error = scim.error("PATCH", path, rename, status=409)
    assert error["scimType"] == "uniqueness"
    stored = scim.get(path)
    assert stored["userName"] == "Other@testuser.com"
    assert stored["meta"]["version"] == other["meta"]["version"]


def test_entra_deletes_a_user(scim: Scim) -> None:
    user = scim.create("/Users", entra_user("Test_User_delete@testuser.com"))
    group = scim.create("/Groups", entra_group("Deleted members"))
    add = {"op": "Add", "path": "members", "value": entra_members([user["id"]])}
    scim.patch(f"/Groups/{group['id']}", add, before=group)

    scim.delete(f"/Users/{user['id']}")

    scim.error("GET", f"/Users/{user['id']}", status=404)
    scim.error("DELETE", f"/Users/{user['id']}", status=404)
    assert scim.search("/Users", 'userName eq "Test_User_delete@testuser.com"')["totalResults"] == 0
    assert member_ids(scim.get(f"/Groups/{group['id']}")) == set()


def test_entra_s_patched_work_email_is_the_person_s_email(scim: Scim, engine: Engine) -> None:
    """Entra adds a work address without ``primary``: the person still has an email (the
    mapping tables and the BI account read it), not an empty one."""
    created = scim.create("/Users", without_emails(entra_user("Mail_Later@testuser.com")))
    scim.patch(f"/Users/{created['id']}", {"op": "Replace", "path": 'emails[type eq "work"].value',
                                           "value": "Mail.Later@Contoso.com"}, before=created)
    amap = load_dir(Path(__file__).resolve().parents[2] / "mappings").attribute_map
    with session_scope(engine) as session:
        [person] = merged_people(session, amap, Scope(scim_users=[created["id"]]), [])
    assert person.person["email"] == "mail.later@contoso.com"
