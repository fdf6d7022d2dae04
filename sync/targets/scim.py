"""``ScimTarget``: any BI platform that speaks SCIM 2.0 (RFC 7643/7644): Users with the
enterprise extension, and Groups. No roles: SCIM has no notion of them. hr2bi attributes
map onto enterprise extension fields (``attribute_map``), single-valued strings only.

``http.base_url`` is the SCIM base (``https://bi.example.com/scim/v2/``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import httpx

from sync.rules.tables import Role
from sync.targets.adopt import adopt_group, adopt_user, create_safely, with_user_id
from sync.targets.base import (
    AttributeDefinition,
    AttributeValue,
    BIGroup,
    BIUser,
    Capabilities,
    Connection,
    Model,
    RoleAssignment,
    UserChanges,
    UserRef,
)
from sync.targets.calls import ApiCaller, CallStats, RetryPolicy, json_body
from sync.targets.errors import InvalidRequest, Unsupported
from sync.targets.limiter import Clock, KeyPool, Pool, Sleep
from sync.targets.omni_wire import PATCH_OP, USER_SCHEMA, group_from_json, scim_filter

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
DEFAULT_ATTRIBUTE_MAP: Mapping[str, str] = MappingProxyType({
    "employee_id": "employeeNumber", "cost_center": "costCenter",
    "department": "department", "business_unit": "division"})


class ScimTarget:
    def __init__(self, http: httpx.Client, token: str, *,
                 attribute_map: Mapping[str, str] = DEFAULT_ATTRIBUTE_MAP,
                 requests_per_minute: float | None = None, policy: RetryPolicy | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 rng: Callable[[], float] = random.random, stats: CallStats | None = None,
                 pool: Pool | None = None) -> None:
        pool = pool or KeyPool([token], requests_per_minute, clock=clock, sleep=sleep)
        self.calls = ApiCaller(http, pool, policy, sleep=sleep, rng=rng, stats=stats)
        self.attribute_map = dict(attribute_map)
        self._fields = {field: name for name, field in self.attribute_map.items()}
        self.capabilities = Capabilities(
            attributes=bool(self.attribute_map), roles=False, bulk_membership=True,
            reactivation_keeps_id=True, attribute_names=frozenset(self.attribute_map))

    # Users ------------------------------------------------------------------------------

    def find_user(self, user_name: str) -> BIUser | None:
        body = json_body(self.calls.send("GET", "Users", params={
            "filter": scim_filter("userName", user_name)}))
        found = [self._user(r) for r in body.get("Resources") or []]
        return next((u for u in found if u.user_name.lower() == user_name.lower()), None)

    def list_users(self, page_size: int = 100) -> Iterator[BIUser]:
        for resource in self._pages("Users", page_size):
            yield self._user(resource)

    def create_user(self, user_name: str, display_name: str,
                    attributes: Mapping[str, AttributeValue] | None = None) -> BIUser:
        attributes = dict(attributes or {})
        body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name,
                                "displayName": display_name, "active": True}
        if "@" in user_name:
            body["emails"] = [{"value": user_name, "type": "work", "primary": True}]
        extension = {self._field(k): self._text(k, v) for k, v in attributes.items()}
        if extension:
            body["schemas"].append(ENTERPRISE)
            body[ENTERPRISE] = extension
        return create_safely(
            lambda: self._user(json_body(self.calls.send("POST", "Users", json=body,
                                                         idempotent=False))),
            lambda: self.find_user(user_name),
            lambda found: adopt_user(found, display_name, attributes, self.update_user),
            what=user_name, attempts=self.calls.policy.attempts)

    def update_user(self, user: UserRef, changes: UserChanges) -> BIUser:
        if changes.is_empty():
            raise ValueError("no changes to send")
        ops = self._ops(changes)
        return with_user_id(user, lambda user_id: self._patch("Users", user_id, ops, self._user),
                            self.find_user)

    def deactivate_user(self, user: UserRef) -> BIUser:
        return self.update_user(user, UserChanges(active=False))

    def reactivate_user(self, user: UserRef) -> BIUser:
        return self.update_user(user, UserChanges(active=True))

    # Groups -----------------------------------------------------------------------------

    def find_group(self, name: str) -> BIGroup | None:
        body = json_body(self.calls.send("GET", "Groups", params={
            "filter": scim_filter("displayName", name)}))
        found = [group_from_json(r) for r in body.get("Resources") or []]
        return next((g for g in found if g.name.lower() == name.lower()), None)

    def list_groups(self, page_size: int = 100) -> Iterator[BIGroup]:
        for resource in self._pages("Groups", page_size):
            yield group_from_json(resource)

    def create_group(self, name: str, member_ids: Iterable[str] = ()) -> BIGroup:
        members = frozenset(member_ids)
        # RFC 7643 §4.2 does not make a group's displayName unique (scim2-server accepts a
        # second "Finance"), so a 409 cannot be relied on: look before creating.
        existing = self.find_group(name)
        if existing is not None:
            return adopt_group(existing, members, self.add_members)
        body = {"schemas": [GROUP_SCHEMA], "displayName": name,
                "members": [{"value": m} for m in sorted(members)]}
        return create_safely(
            lambda: group_from_json(json_body(self.calls.send("POST", "Groups", json=body,
                                                              idempotent=False))),
            lambda: self.find_group(name),
            lambda found: adopt_group(found, members, self.add_members),
            what=f"group {name}", attempts=self.calls.policy.attempts)

    def add_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        members = [{"value": u} for u in sorted(set(user_ids))]
        if members:
            self._patch("Groups", group_id,
                        [{"op": "add", "path": "members", "value": members}], None)

    def remove_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        ops = [{"op": "remove", "path": f'members[value eq "{u}"]'} for u in sorted(set(user_ids))]
        if ops:
            self._patch("Groups", group_id, ops, None)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.remove_members(group_id, [user_id])

    # What SCIM has no notion of -------------------------------------------------------

    def set_user_role(self, user: UserRef, connection: str, model: str | None, role: Role) -> None:
        self._unsupported("roles")

    def set_group_role(self, group_id: str, connection: str, model: str | None,
                       role: Role) -> None:
        self._unsupported("roles")

    def user_roles(self, user: UserRef) -> list[RoleAssignment]:
        return []

    def group_roles(self, group_id: str) -> list[RoleAssignment]:
        return []

    def attribute_definitions(self) -> list[AttributeDefinition]:
        return [AttributeDefinition(name, field, "String", False, False)
                for name, field in self.attribute_map.items()]

    def connections(self) -> list[Connection]:
        return []

    def models(self) -> list[Model]:
        return []

    # Wire -------------------------------------------------------------------------------

    def _user(self, body: Mapping[str, Any]) -> BIUser:
        extension = body.get(ENTERPRISE) or {}
        attributes = {self._fields[f]: v for f, v in extension.items()
                      if f in self._fields and isinstance(v, str) and v}
        return BIUser(id=body["id"], user_name=body["userName"],
                      display_name=body.get("displayName") or "",
                      active=body.get("active", True) is not False,
                      attributes=MappingProxyType(attributes))

    def _ops(self, changes: UserChanges) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        if changes.display_name is not None:
            ops.append({"op": "replace", "path": "displayName", "value": changes.display_name})
        if changes.active is not None:
            ops.append({"op": "replace", "path": "active", "value": changes.active})
        for name, value in (changes.attributes or {}).items():
            path = f"{ENTERPRISE}:{self._field(name)}"
            ops.append({"op": "remove", "path": path} if value is None else
                       {"op": "replace", "path": path, "value": self._text(name, value)})
        return ops

    def _field(self, name: str) -> str:
        try:
            return self.attribute_map[name]
        except KeyError:
            raise Unsupported(f"attribute {name!r} has no SCIM field in attribute_map") from None

    def _text(self, name: str, value: AttributeValue) -> str:
        if isinstance(value, (tuple, bool)):
            raise InvalidRequest(400, f"attribute {name!r}: SCIM enterprise fields hold one string")
        return str(value)

    def _patch(self, kind: str, resource_id: str, ops: list[dict[str, Any]],
               parse: Callable[[Mapping[str, Any]], BIUser] | None) -> Any:
        response = self.calls.send("PATCH", f"{kind}/{resource_id}",
                                   json={"schemas": [PATCH_OP], "Operations": ops})
        if parse is None:
            return None
        if response.status_code == 204:  # RFC 7644 §3.5.2: a PATCH may answer no content
            return self._user(json_body(self.calls.send("GET", f"{kind}/{resource_id}")))
        return parse(json_body(response))

    def _pages(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        start = 1
        while True:
            body = json_body(self.calls.send("GET", path, params={
                "startIndex": str(start), "count": str(page_size)}))
            resources = body.get("Resources") or []
            yield from resources
            start += len(resources)
            if not resources or start > int(body.get("totalResults", 0)):
                return

    @staticmethod
    def _unsupported(what: str) -> NoReturn:
        raise Unsupported(f"a SCIM target has no {what}")
