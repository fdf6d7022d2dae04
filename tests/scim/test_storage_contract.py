"""The contract of ``scim.storage.ResourceStorage``, checked against every backend: the
SQL one the endpoint runs on (SQLite, or PostgreSQL when DATABASE_URL is set) and a
memory one that exists only to show the contract is not SQL's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from memory_storage import memory_storages
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scim.resources import normalize
from scim.schema import group_type, user_type
from scim.sqlstorage import SqlGroups, SqlUsers
from scim.storage import NameTaken, Query, ResourceStorage, SelfMember, UnknownMembers

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
Storages = tuple[ResourceStorage, ResourceStorage]


@pytest.fixture(params=["sql", "memory"])
def storages(request: pytest.FixtureRequest) -> Iterator[Storages]:
    if request.param == "memory":
        yield memory_storages()
        return
    engine: Engine = request.getfixturevalue("engine")
    with Session(engine) as session:
        yield SqlUsers(session), SqlGroups(session)
        session.rollback()


def user(name: str, **extra: Any) -> dict[str, Any]:
    return normalize({"schemas": [USER], "userName": name, **extra}, user_type())


def group(name: str, *member_ids: str) -> dict[str, Any]:
    return normalize({"schemas": [GROUP], "displayName": name,
                      "members": [{"value": i, "display": f"m-{i[:4]}"} for i in member_ids]}, group_type())


def test_insert_get_update_delete_round_trip(storages: Storages) -> None:
    users, _ = storages
    ana = users.insert(user("ana@example.com", title="Analyst"), "okta")
    assert (ana.version, ana.resource["title"]) == (1, "Analyst")
    assert users.get(ana.id).resource == ana.resource

    locked = users.get_for_write(ana.id)
    assert locked is not None
    updated = users.update(locked, user("ana@example.com", title="Lead"), "okta")
    assert (updated.id, updated.version) == (ana.id, 2)
    assert users.get(ana.id).resource["title"] == "Lead"

    users.delete(users.get_for_write(ana.id, deleting=True), "okta")
    assert users.get(ana.id) is None
    assert users.get_for_write(ana.id) is None


def test_an_unknown_or_overlong_id_is_none(storages: Storages) -> None:
    users, groups = storages
    assert users.get("no-such-id") is None
    assert groups.get_for_write("x" * 200) is None


def test_names_clash_on_their_canonical_key(storages: Storages) -> None:
    users, _ = storages
    ana = users.insert(user("ana@example.com"), "okta")
    # Renaming oneself to another case of one's own name is no clash.
    users.update(users.get_for_write(ana.id), user("Ana@Example.com"), "okta")
    with pytest.raises(NameTaken):
        users.insert(user("  ANA@example.COM "), "okta")


def test_memberships_follow_writes(storages: Storages) -> None:
    users, groups = storages
    ana, ben = (users.insert(user(n), "okta").id for n in ("ana@example.com", "ben@example.com"))
    team = groups.insert(group("Team", ana, ben), "okta")
    assert "members" not in team.resource  # members are memberships, not the document
    shown = groups.related([team.id])[team.id]
    assert [(m.value, m.type, m.display) for m in shown] == sorted(
        [(ana, "User", f"m-{ana[:4]}"), (ben, "User", f"m-{ben[:4]}")])

    groups.update(groups.get_for_write(team.id), group("Team", ben), "okta")
    assert [m.value for m in groups.related([team.id])[team.id]] == [ben]
    assert users.related([ana, ben]) == {ben: users.related([ben])[ben]}


def test_a_user_s_groups_are_computed_in_name_order(storages: Storages) -> None:
    users, groups = storages
    ana = users.insert(user("ana@example.com"), "okta").id
    b = groups.insert(group("b-team", ana), "okta").id
    a = groups.insert(group("A-team", ana), "okta").id
    nested = groups.insert(group("Outer", a), "okta").id
    assert [(m.value, m.type, m.display) for m in users.related([ana])[ana]] == [
        (a, "Group", "A-team"), (b, "Group", "b-team")]
    assert [(m.value, m.type) for m in groups.related([nested])[nested]] == [(a, "Group")]


def test_a_delete_cascades_its_memberships(storages: Storages) -> None:
    users, groups = storages
    ana = users.insert(user("ana@example.com"), "okta").id
    inner = groups.insert(group("Inner", ana), "okta").id
    outer = groups.insert(group("Outer", inner), "okta").id
    users.delete(users.get_for_write(ana, deleting=True), "okta")
    groups.delete(groups.get_for_write(inner, deleting=True), "okta")
    assert groups.related([inner, outer]) == {}


def test_unknown_members_are_refused(storages: Storages) -> None:
    users, groups = storages
    ana = users.insert(user("ana@example.com"), "okta").id
    with pytest.raises(UnknownMembers) as refused:
        groups.insert(group("Team", ana, "no-such-id"), "okta")
    assert refused.value.ids == ["no-such-id"]


def test_a_group_cannot_contain_itself(storages: Storages) -> None:
    _, groups = storages
    team = groups.insert(group("Team"), "okta")
    with pytest.raises(SelfMember):
        groups.update(groups.get_for_write(team.id), group("Team", team.id), "okta")


def test_search_pages_and_counts(storages: Storages) -> None:
    users, _ = storages
    ids = [users.insert(user(f"u{i}@example.com"), "okta").id for i in range(5)]
    total, everyone = users.search(Query(count=10))
    assert (total, sorted(r.id for r in everyone)) == (5, sorted(ids))
    total, page = users.search(Query(start_index=2, count=2))
    assert (total, page) == (5, everyone[1:3])
    assert users.search(Query(count=0)) == (5, [])
    assert users.search(Query(start_index=9, count=2)) == (5, [])
