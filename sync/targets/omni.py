"""``OmniTarget``: the target port over Omni's REST API (SCIM users and groups, user
attributes, model roles, connections), every call rate-limited per API key and retried as
:mod:`sync.targets.calls` says. Every request validates against Omni's published OpenAPI
spec (``tests/targets/test_omni_contract.py`` checks it).

Omni quirks handled here:
- re-activating a user may mint a new id, so users are keyed on userName and an id is only
  a hint: a 404 on a cached id is followed by a lookup by userName;
- PUT resets every optional field it omits (user attributes included): updates use PATCH;
- user attributes ride in the user under ``urn:omni:params:1.0:UserAttribute`` and are
  merged by key; ``null`` unsets one;
- role assignments name model ids: ``GET /api/v1/models`` lists them (cursor paging,
  deleted models skipped) once per target, i.e. once per run; a list given to the
  constructor (``HR2BI_BI_MODELS_FILE``) overrides it. A name that is not there is an
  error, never a guess;
- the restricted role has two names (``RESTRICTED_QUERIER`` in the spec, ``QUERY_TOPICS``
  in Omni's documentation) and role answers come in more than one shape: read-back
  normalizes both (:func:`omni_wire.role_assignment`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

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
from sync.targets.errors import InvalidRequest, NotFound
from sync.targets.limiter import Clock, KeyPool, Pool, Sleep
from sync.targets.omni_wire import (
    GROUP_NAME_LIMIT,
    PATCH_OP,
    attribute_definition,
    group_from_json,
    patch_ops,
    role_assignment,
    scim_filter,
    user_create_body,
    user_from_json,
)

USERS = "/api/scim/v2/Users"
GROUPS = "/api/scim/v2/Groups"


class OmniTarget:
    """Omni at ``http.base_url`` (``https://<instance>.omniapp.co``), with one or more
    organization API keys, each allowed ``requests_per_minute``."""

    models_page_size = 100  # models per GET /api/v1/models page

    def __init__(self, http: httpx.Client, keys: Sequence[str], *, models: Iterable[Model] | None = None,
                 requests_per_minute: float = 60.0, burst: float = 1.0,
                 policy: RetryPolicy | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep, rng: Callable[[], float] = random.random,
                 reactivation_keeps_id: bool = False, stats: CallStats | None = None,
                 pool: Pool | None = None) -> None:
        pool = pool or KeyPool(keys, requests_per_minute, burst=burst, clock=clock, sleep=sleep)
        self.calls = ApiCaller(http, pool, policy, sleep=sleep, rng=rng, stats=stats)
        self._models = None if models is None else list(models)
        self._connections: list[Connection] | None = None
        self.capabilities = Capabilities(
            attributes=True, roles=True, bulk_membership=True,
            reactivation_keeps_id=reactivation_keeps_id,
            max_group_name_length=GROUP_NAME_LIMIT)

    # Users ------------------------------------------------------------------------------

    def find_user(self, user_name: str) -> BIUser | None:
        body = json_body(self.calls.send("GET", USERS, params={
            "filter": scim_filter("userName", user_name), "startIndex": "1", "count": "1"}))
        found = [user_from_json(r) for r in body["Resources"]]
        return next((u for u in found if u.user_name.lower() == user_name.lower()), None)

    def list_users(self, page_size: int = 100) -> Iterator[BIUser]:
        for resource in self._pages(USERS, page_size, {}):
            yield user_from_json(resource)

    def create_user(self, user_name: str, display_name: str,
                    attributes: Mapping[str, AttributeValue] | None = None) -> BIUser:
        """Create, or adopt the existing user with this userName (see :mod:`adopt`)."""
        attributes = dict(attributes or {})
        body = user_create_body(user_name, display_name, attributes)
        return create_safely(
            lambda: user_from_json(json_body(self.calls.send("POST", USERS, json=body,
                                                             idempotent=False))),
            lambda: self.find_user(user_name),
            lambda found: adopt_user(found, display_name, attributes, self.update_user),
            what=user_name, attempts=self.calls.policy.attempts)

    def update_user(self, user: UserRef, changes: UserChanges) -> BIUser:
        if changes.is_empty():
            raise ValueError("no changes to send")
        ops = patch_ops(changes)
        return with_user_id(user, lambda user_id: self._patch_user(user_id, ops), self.find_user)

    def _patch_user(self, user_id: str, ops: list[dict[str, Any]]) -> BIUser:
        response = self.calls.send("PATCH", f"{USERS}/{user_id}",
                                   json={"schemas": [PATCH_OP], "Operations": ops})
        return user_from_json(json_body(response))

    def set_user_attributes(self, user: UserRef,
                            attributes: Mapping[str, AttributeValue | None]) -> BIUser:
        return self.update_user(user, UserChanges(attributes=attributes))

    def deactivate_user(self, user: UserRef) -> BIUser:
        return self.update_user(user, UserChanges(active=False))

    def reactivate_user(self, user: UserRef) -> BIUser:
        return self.update_user(user, UserChanges(active=True))

    # Groups -----------------------------------------------------------------------------

    def find_group(self, name: str) -> BIGroup | None:
        body = json_body(self.calls.send("GET", GROUPS, params={
            "filter": scim_filter("displayName", name), "startIndex": "1", "count": "1"}))
        found = [group_from_json(r) for r in body["Resources"]]
        return next((g for g in found if g.name.lower() == name.lower()), None)

    def list_groups(self, page_size: int = 100) -> Iterator[BIGroup]:
        for resource in self._pages(GROUPS, page_size, {}):
            yield group_from_json(resource)

    def create_group(self, name: str, member_ids: Iterable[str] = ()) -> BIGroup:
        if len(name) > GROUP_NAME_LIMIT:
            raise InvalidRequest(400, f"group name longer than {GROUP_NAME_LIMIT}: {name}")
        members = frozenset(member_ids)
        body = {"displayName": name, "members": [{"value": m} for m in sorted(members)]}
        return create_safely(
            lambda: group_from_json(json_body(self.calls.send("POST", GROUPS, json=body,
                                                              idempotent=False))),
            lambda: self.find_group(name),
            lambda found: adopt_group(found, members, self.add_members),
            what=f"group {name}", attempts=self.calls.policy.attempts)

    def add_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        members = [{"value": u} for u in sorted(set(user_ids))]
        if members:  # Omni takes many members in one add operation
            self._patch_group(group_id, [{"op": "add", "path": "members", "value": members}])

    def remove_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        ops = [{"op": "remove", "path": f'members[value eq "{u}"]'} for u in sorted(set(user_ids))]
        if ops:
            self._patch_group(group_id, ops)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.remove_members(group_id, [user_id])

    def _patch_group(self, group_id: str, ops: list[dict[str, Any]]) -> None:
        self.calls.send("PATCH", f"{GROUPS}/{group_id}",
                        json={"schemas": [PATCH_OP], "Operations": ops})

    # Roles, attributes, connections -----------------------------------------------------

    def set_user_role(self, user: UserRef, connection: str, model: str | None, role: Role) -> None:
        body = self._role_body(connection, model, role)
        with_user_id(user, lambda user_id: self.calls.send(
            "POST", f"/api/v1/users/{user_id}/model-roles", json=body), self.find_user)

    def set_group_role(self, group_id: str, connection: str, model: str | None,
                       role: Role) -> None:
        self.calls.send("POST", f"/api/v1/user-groups/{group_id}/model-roles",
                        json=self._role_body(connection, model, role))

    def user_roles(self, user: UserRef) -> list[RoleAssignment]:
        body = with_user_id(user, lambda user_id: json_body(
            self.calls.send("GET", f"/api/v1/users/{user_id}/model-roles")), self.find_user)
        return list(dict.fromkeys(self._assignment(r, "USER") for r in body["results"]))

    def group_roles(self, group_id: str) -> list[RoleAssignment]:
        body = json_body(self.calls.send("GET", f"/api/v1/user-groups/{group_id}/model-roles"))
        return list(dict.fromkeys(self._assignment(r, "GROUP") for r in body["results"]))

    def attribute_definitions(self) -> list[AttributeDefinition]:
        body = json_body(self.calls.send("GET", "/api/v1/user-attributes"))
        return [attribute_definition(r) for r in body["records"]]

    def connections(self) -> list[Connection]:
        if self._connections is None:
            body = json_body(self.calls.send("GET", "/api/v1/connections"))
            self._connections = [Connection(c["id"], c["name"], c.get("baseRole"))
                                 for c in body["connections"] if not c.get("deletedAt")]
        return list(self._connections)

    def set_connection_base_role(self, connection: str, role: Role) -> None:
        self.calls.send("PATCH", f"/api/v1/connections/{self._connection_id(connection)}",
                        json={"baseRole": role.name})
        self._connections = None

    def models(self) -> list[Model]:
        """Every model not deleted, with its connection's name (listed once, then kept)."""
        if self._models is None:
            names = {c.id: c.name for c in self.connections()}
            self._models = [Model(r["id"], r["name"], names[r["connectionId"]])
                            for r in self._model_pages()
                            if not r.get("deletedAt") and r.get("name")
                            and r.get("connectionId") in names]
        return list(self._models)

    def _model_pages(self) -> Iterator[dict[str, Any]]:
        page_size = self.models_page_size
        params = {"pageSize": str(page_size)}
        seen: set[str] = set()
        while True:  # bounded: stops when there is no next page or a cursor repeats
            body = json_body(self.calls.send("GET", "/api/v1/models", params=params))
            yield from body["records"]
            cursor = body["pageInfo"].get("nextCursor")
            if not body["pageInfo"].get("hasNextPage") or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = {"pageSize": str(page_size), "cursor": cursor}

    def _role_body(self, connection: str, model: str | None, role: Role) -> dict[str, str]:
        body = {"connectionId": self._connection_id(connection), "roleName": role.name}
        if model is not None:
            body["modelId"] = self._model_id(connection, model)
        elif role is not Role.CONNECTION_ADMIN:
            # Omni needs a model for every role except CONNECTION_ADMIN.
            raise InvalidRequest(400, f"{role.name} on {connection} needs a model")
        return body

    def _connection_id(self, name: str) -> str:
        for connection in self.connections():
            if connection.name == name:
                return connection.id
        raise NotFound(f"no Omni connection named {name}")

    def _model_id(self, connection: str, model: str) -> str:
        for found in self.models():
            if found.connection == connection and found.name == model:
                return found.id
        raise NotFound(f"Omni has no model {model} on connection {connection} "
                       "(GET /api/v1/models lists none by that name)")

    def _assignment(self, row: Mapping[str, Any], holder: str) -> RoleAssignment:
        names = {c.id: c.name for c in self.connections()}
        models = {m.id: m.name for m in self.models()}
        return role_assignment(row, holder, names, models)

    def _pages(self, path: str, page_size: int, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        start = 1
        while True:  # bounded: stops at totalResults or an empty page
            body = json_body(self.calls.send("GET", path, params={
                **params, "startIndex": str(start), "count": str(page_size)}))
            resources = body["Resources"]
            yield from resources
            start += len(resources)
            if not resources or start > int(body["totalResults"]):
                return

