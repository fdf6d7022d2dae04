"""ScimTarget end to end against scim2-server, a real and independent SCIM 2.0 server
(PyPI ``scim2-server``) started on a free 127.0.0.1 port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import free_port, running

from sync.rules.tables import Role
from sync.targets.base import Target, UserChanges, UserRef
from sync.targets.errors import Unsupported
from sync.targets.scim import ScimTarget

TOKEN = "scim-target-test-token"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scim_base() -> Iterator[str]:
    port = free_port()
    server = Path(sys.executable).with_name("scim2-server")
    base = f"http://127.0.0.1:{port}/v2"
    with running([str(server), "--port", str(port), "--bearer-token", TOKEN],
                 f"{base}/ServiceProviderConfig", {"Authorization": f"Bearer {TOKEN}"}):
        yield base


@pytest.fixture
def scim(scim_base: str) -> Iterator[ScimTarget]:
    with httpx.Client(base_url=scim_base, timeout=10.0) as http:
        target = ScimTarget(http, TOKEN)
        yield target
        for user in list(target.list_users()):  # the server lives for the module: clean up
            http.delete(f"Users/{user.id}", headers={"Authorization": f"Bearer {TOKEN}"})
        for group in list(target.list_groups()):
            http.delete(f"Groups/{group.id}", headers={"Authorization": f"Bearer {TOKEN}"})


def test_capabilities_say_no_roles(scim: ScimTarget) -> None:
    assert isinstance(scim, Target)
    assert scim.capabilities.roles is False
    assert scim.capabilities.reactivation_keeps_id is True
    with pytest.raises(Unsupported):
        scim.set_user_role(UserRef("x@example.com"), "warehouse", "finance", Role.VIEWER)


def test_users_lifecycle(scim: ScimTarget) -> None:
    ada = scim.create_user("ada@example.com", "Ada Lovelace",
                           {"department": "Finance", "cost_center": "CC-1100"})
    assert ada.attributes == {"department": "Finance", "cost_center": "CC-1100"}
    assert scim.find_user("ada@example.com") == ada
    assert scim.find_user("nobody@example.com") is None
    changed = scim.update_user(UserRef("ada@example.com"), UserChanges(
        display_name="Ada", attributes={"department": "Sales", "cost_center": None}))
    assert (changed.display_name, dict(changed.attributes)) == ("Ada", {"department": "Sales"})
    assert scim.deactivate_user(changed.ref).active is False
    back = scim.reactivate_user(changed.ref)
    assert back.active and back.id == ada.id
    # Stale id: the userName is the key.
    again = scim.update_user(UserRef("ada@example.com", "no-such-id"),
                             UserChanges(attributes={"employee_id": "E1"}))
    assert again.attributes["employee_id"] == "E1"


def test_409_on_create_adopts_the_existing_user(scim: ScimTarget) -> None:
    first = scim.create_user("bob@example.com", "Bob", {"department": "Sales"})
    scim.deactivate_user(first.ref)
    second = scim.create_user("bob@example.com", "Bob B", {"department": "Sales"})
    assert (second.id, second.display_name, second.active) == (first.id, "Bob B", True)
    assert [u.user_name for u in scim.list_users()] == ["bob@example.com"]


def test_users_are_listed_page_by_page(scim: ScimTarget) -> None:
    for n in range(5):
        scim.create_user(f"user{n}@example.com", f"User {n}")
    names = sorted(u.user_name for u in scim.list_users(page_size=2))
    assert names == [f"user{n}@example.com" for n in range(5)]


def test_groups_and_members(scim: ScimTarget) -> None:
    users = [scim.create_user(f"m{n}@example.com", f"M {n}").id for n in range(3)]
    group = scim.create_group("Finance", users[:1])
    assert group.member_ids == {users[0]}
    scim.add_members(group.id, users)
    assert scim.find_group("Finance").member_ids == set(users)
    scim.remove_member(group.id, users[1])
    assert scim.find_group("Finance").member_ids == {users[0], users[2]}
    adopted = scim.create_group("Finance", [users[1]])  # 409: adopt, add what is missing
    assert adopted.id == group.id and adopted.member_ids == set(users)
    assert [g.name for g in scim.list_groups()] == ["Finance"]
