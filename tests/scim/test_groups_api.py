"""Groups and memberships through the HTTP endpoint."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from scim.schema import GROUP, PATCH_OP, USER
from sync.models import ScimGroupMember

from test_users_api import assert_error


def make_users(client: FlaskClient, auth: dict[str, str], count: int, prefix: str = "u") -> list[str]:
    ids = []
    for i in range(count):
        response = client.post("/scim/v2/Users", headers=auth,
                               json={"schemas": [USER], "userName": f"{prefix}{i}@corp.com"})
        assert response.status_code == 201
        ids.append(response.json["id"])
    return ids


def make_group(client: FlaskClient, auth: dict[str, str], name: str, members: list[str] = ()) -> dict[str, Any]:
    response = client.post("/scim/v2/Groups", headers=auth, json={
        "schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def patch(client: FlaskClient, auth: dict[str, str], gid: str, *ops: dict[str, Any]) -> Any:
    return client.patch(f"/scim/v2/Groups/{gid}", headers=auth,
                        json={"schemas": [PATCH_OP], "Operations": list(ops)})


def member_ids(client: FlaskClient, auth: dict[str, str], gid: str) -> set[str]:
    body = client.get(f"/scim/v2/Groups/{gid}", headers=auth).json
    return {m["value"] for m in body.get("members", [])}


def test_group_create_with_members_and_users_see_their_groups(client: FlaskClient, auth: dict[str, str]) -> None:
    ann, bob = make_users(client, auth, 2)
    group = make_group(client, auth, "Finance", [ann])
    assert [m["value"] for m in group["members"]] == [ann]
    assert group["members"][0]["type"] == "User"
    groups = client.get(f"/scim/v2/Users/{ann}", headers=auth).json["groups"]
    assert [(g["value"], g["display"], g["type"]) for g in groups] == [(group["id"], "Finance", "direct")]
    assert "groups" not in client.get(f"/scim/v2/Users/{bob}", headers=auth).json


def test_display_name_is_required_and_unique(client: FlaskClient, auth: dict[str, str]) -> None:
    make_group(client, auth, "Sales")
    assert_error(client.post("/scim/v2/Groups", headers=auth, json={"displayName": "SALES"}), 409, "uniqueness")
    assert_error(client.post("/scim/v2/Groups", headers=auth, json={"schemas": [GROUP]}), 400, "invalidValue")


def test_unknown_members_are_refused_not_dropped(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post("/scim/v2/Groups", headers=auth,
                           json={"displayName": "Ghosts", "members": [{"value": "no-such-user"}]})
    body = assert_error(response, 400, "invalidValue")
    assert "no-such-user" in body["detail"]


def test_large_batches_add_and_remove(client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    users = make_users(client, auth, 600)
    gid = make_group(client, auth, "Everyone")["id"]
    added = patch(client, auth, gid, {"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    assert added.status_code == 200
    removed = patch(client, auth, gid, *[
        {"op": "remove", "path": f'members[value eq "{u}"]'} for u in users[:250]])
    assert removed.status_code == 200
    assert member_ids(client, auth, gid) == set(users[250:])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ScimGroupMember)) == 350
    filtered = client.get("/scim/v2/Groups", headers=auth,
                          query_string={"filter": f'members[value eq "{users[300]}"]'}).json
    assert [g["id"] for g in filtered["Resources"]] == [gid]
    by_user = client.get("/scim/v2/Users", headers=auth,
                         query_string={"filter": f'groups.value eq "{gid}"', "count": 1}).json
    assert by_user["totalResults"] == 350


def test_replace_members_and_display_name(client: FlaskClient, auth: dict[str, str]) -> None:
    a, b, c = make_users(client, auth, 3)
    gid = make_group(client, auth, "Team", [a, b])["id"]
    result = patch(client, auth, gid, {"op": "replace", "path": "members", "value": [{"value": c}]},
                   {"op": "replace", "path": "displayName", "value": "Team 2"})
    assert result.json["displayName"] == "Team 2"
    assert member_ids(client, auth, gid) == {c}
    put = client.put(f"/scim/v2/Groups/{gid}", headers=auth, json={"displayName": "Team 3"}).json
    assert "members" not in put  # PUT without members empties the group


def test_deleting_a_user_removes_its_memberships(client: FlaskClient, auth: dict[str, str]) -> None:
    a, b = make_users(client, auth, 2)
    gid = make_group(client, auth, "Pair", [a, b])["id"]
    assert client.delete(f"/scim/v2/Users/{a}", headers=auth).status_code == 204
    assert member_ids(client, auth, gid) == {b}


def test_deleting_a_group_removes_it_from_the_groups_it_was_in(
        client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    (a,) = make_users(client, auth, 1)
    inner = make_group(client, auth, "Inner", [a])["id"]
    outer = make_group(client, auth, "Outer", [inner, a])["id"]
    assert client.delete(f"/scim/v2/Groups/{inner}", headers=auth).status_code == 204
    assert member_ids(client, auth, outer) == {a}
    with Session(engine) as session:  # its own members went with it, by the foreign keys
        assert session.exec(select(ScimGroupMember.group_id, ScimGroupMember.member_id)).all() == [(outer, a)]


def test_nested_group_members_and_no_self_membership(client: FlaskClient, auth: dict[str, str]) -> None:
    inner = make_group(client, auth, "Inner")["id"]
    outer = make_group(client, auth, "Outer", [inner])
    assert outer["members"][0]["type"] == "Group"
    self_ref = patch(client, auth, inner, {"op": "add", "path": "members", "value": [{"value": inner}]})
    assert_error(self_ref, 400, "invalidValue")


def test_group_filters(client: FlaskClient, auth: dict[str, str]) -> None:
    make_group(client, auth, "BI Finance")
    make_group(client, auth, "BI Sales")
    make_group(client, auth, "Other")
    names = lambda f: sorted(g["displayName"] for g in client.get(  # noqa: E731
        "/scim/v2/Groups", headers=auth, query_string={"filter": f}).json["Resources"])
    assert names('displayName eq "bi finance"') == ["BI Finance"]
    assert names('displayName sw "BI "') == ["BI Finance", "BI Sales"]
    assert names("members pr") == []
    excluded = client.get("/scim/v2/Groups", headers=auth, query_string={
        "filter": 'displayName eq "Other"', "excludedAttributes": "members"}).json
    assert excluded["totalResults"] == 1 and "members" not in excluded["Resources"][0]
