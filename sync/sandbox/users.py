"""SCIM users as Omni keeps them: create, PATCH (merged), PUT (replaces, resetting what it
omits), re-activation that may mint a new id, and user attributes checked against their
definitions. Pure functions over :class:`SandboxState`; they raise :class:`SandboxError`.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from sync.sandbox.state import SandboxError, SandboxState

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ATTRIBUTES_URN = "urn:omni:params:1.0:UserAttribute"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# What re-activating a deactivated user does (Omni: "may create a new user").
NEW_EMPTY = "new-empty"  # the default: a new id, no groups, roles or old attributes
CARRY_OVER = "carry-over"  # a new id; groups, roles and attributes follow it
SAME_ID = "same-id"  # the same account, switched back on
REACTIVATIONS = (NEW_EMPTY, CARRY_OVER, SAME_ID)


def user_json(user: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "id": user["id"], "userName": user["userName"],
            "displayName": user["displayName"], "active": user["active"],
            ATTRIBUTES_URN: dict(user["attributes"])}


def create_user(state: SandboxState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SandboxError(400, "Invalid request body")
    user_name = _user_name(body.get("userName"))
    display_name = body.get("displayName")
    if not isinstance(display_name, str) or not display_name.strip():
        raise SandboxError(400, "displayName is required")
    _unique(state, user_name, None)
    attributes = merge_attributes(state, {}, body.get(ATTRIBUTES_URN, {}))
    user = {"id": str(uuid.uuid4()), "userName": user_name, "displayName": display_name,
            "active": True, "attributes": attributes}
    state.users[user["id"]] = user
    return user


def replace_user(state: SandboxState, user_id: str, body: Any) -> dict[str, Any]:
    """PUT: the body is the whole user; every optional field it omits is reset (the
    display name to the userName, active to true, attributes to none)."""
    user = find_user(state, user_id)
    if not isinstance(body, dict):
        raise SandboxError(400, "Invalid request body")
    user_name = _user_name(body.get("userName"))
    _unique(state, user_name, user_id)
    display_name = body.get("displayName")
    if display_name is not None and not isinstance(display_name, str):
        raise SandboxError(400, "displayName must be a string")
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise SandboxError(400, "active must be a boolean")
    attributes = merge_attributes(state, {}, body.get(ATTRIBUTES_URN, {}))
    updated = {"id": user_id, "userName": user_name, "displayName": display_name or user_name,
               "active": user["active"], "attributes": attributes}
    return _commit(state, user, updated, active, reactivation=SAME_ID)


def patch_user(state: SandboxState, user_id: str, body: Any, *,
               reactivation: str = NEW_EMPTY) -> dict[str, Any]:
    user = find_user(state, user_id)
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list) or not operations:
        raise SandboxError(400, "Operations must be a non-empty list")
    updated = copy.deepcopy(user)
    active = user["active"]
    for operation in operations:
        active = _apply(state, updated, operation, active)
    if reactivation == NEW_EMPTY and active and not user["active"]:
        # A new, empty account: only what this very request sets reaches it.
        updated = {**copy.deepcopy(user), "attributes": {}}
        for operation in operations:
            _apply(state, updated, operation, active)
    if updated["userName"] != user["userName"]:
        _unique(state, updated["userName"], user_id)
    return _commit(state, user, updated, active, reactivation)


def delete_user(state: SandboxState, user_id: str) -> None:
    find_user(state, user_id)
    del state.users[user_id]
    state.user_roles.pop(user_id, None)
    for group in state.groups.values():
        group["members"] = [m for m in group["members"] if m != user_id]


def find_user(state: SandboxState, user_id: str) -> dict[str, Any]:
    try:
        return state.users[user_id]
    except KeyError:
        raise SandboxError(404, "User not found") from None


def _commit(state: SandboxState, before: dict[str, Any], after: dict[str, Any], active: bool,
            reactivation: str) -> dict[str, Any]:
    after["active"] = active
    if reactivation != SAME_ID and active and not before["active"]:
        # Omni may give a re-activated user a new id: the old one answers 404 from now on.
        old, after["id"] = before["id"], str(uuid.uuid4())
        del state.users[old]
        roles = state.user_roles.pop(old, None)
        if reactivation == CARRY_OVER:  # the kind behaviour: everything follows the user
            if roles is not None:
                state.user_roles[after["id"]] = roles
            for group in state.groups.values():
                group["members"] = [after["id"] if m == old else m for m in group["members"]]
        else:  # NEW_EMPTY, the strict default: a new account with nothing of the old one's
            for group in state.groups.values():
                group["members"] = [m for m in group["members"] if m != old]
    state.users[after["id"]] = after
    return after


def _apply(state: SandboxState, user: dict[str, Any], operation: Any, active: bool) -> bool:
    """Apply one operation to ``user`` (a copy); return the new ``active``."""
    if not isinstance(operation, dict) or "value" not in operation:
        raise SandboxError(400, "each operation needs op and value")
    op = str(operation.get("op", "")).lower()
    if op not in ("add", "replace", "remove"):
        raise SandboxError(400, f"unsupported op {operation.get('op')!r}")
    path, value = operation.get("path"), operation["value"]
    if path is None:
        if op == "remove" or not isinstance(value, dict):
            raise SandboxError(400, "an operation without a path needs an object value")
        for name, item in value.items():
            active = _set(state, user, name, item, active)
        return active
    if op == "remove":
        return _set(state, user, path, None, active, removing=True)
    return _set(state, user, path, value, active)


def _set(state: SandboxState, user: dict[str, Any], path: str, value: Any, active: bool,
         removing: bool = False) -> bool:
    name = path.lower()
    if name == "active" and not removing:
        if not isinstance(value, bool):
            raise SandboxError(400, "active must be a boolean")
        return value
    if name == "displayname" and not removing:
        if not isinstance(value, str) or not value.strip():
            raise SandboxError(400, "displayName must be a non-empty string")
        user["displayName"] = value
    elif name == "username" and not removing:
        user["userName"] = _user_name(value)
    elif name == ATTRIBUTES_URN.lower():
        # Merged by key; a remove of the whole object clears every attribute.
        user["attributes"] = ({} if removing
                              else merge_attributes(state, user["attributes"], value))
    elif name.startswith(ATTRIBUTES_URN.lower() + ":"):
        key = path[len(ATTRIBUTES_URN) + 1:]
        user["attributes"] = merge_attributes(state, user["attributes"],
                                              {key: None if removing else value})
    elif name.startswith(ENTERPRISE_URN.lower()):
        pass  # accepted and not kept: Omni's users carry no enterprise fields
    else:
        raise SandboxError(400, f"Invalid patch path {path!r}")
    return active


def merge_attributes(state: SandboxState, current: dict[str, Any], incoming: Any) -> dict[str, Any]:
    """``current`` updated by ``incoming`` key by key; ``null``, ``""`` and ``[]`` unset."""
    if not isinstance(incoming, dict):
        raise SandboxError(400, f"{ATTRIBUTES_URN} must be an object")
    definitions = {d["name"]: d for d in state.attributes}
    merged = dict(current)
    for name, value in incoming.items():
        definition = definitions.get(name)
        if definition is None:
            raise SandboxError(400, f"Unknown user attribute {name!r}")
        if definition["system"]:
            raise SandboxError(400, f"User attribute {name!r} is a system attribute (read-only)")
        if value is None or value == "" or value == []:
            merged.pop(name, None)
        else:
            merged[name] = _attribute_value(definition, value)
    return merged


def _attribute_value(definition: dict[str, Any], value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    if len(values) > 1 and not definition["multiple_values"]:
        raise SandboxError(400, f"User attribute {definition['name']!r} takes one value")
    checked = [_one_value(definition, v) for v in values]
    return checked if definition["multiple_values"] else checked[0]


def _one_value(definition: dict[str, Any], value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SandboxError(400, f"Invalid value for user attribute {definition['name']!r}")
    if definition["type"] == "Number":
        try:
            float(value)
        except ValueError:
            raise SandboxError(400, f"User attribute {definition['name']!r} is a Number") from None
    # Number attributes are stored as strings, for precision (Omni's spec says so).
    return value if isinstance(value, str) else format(value, "g")


def _user_name(value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise SandboxError(400, "userName must be an email address")
    return value


def _unique(state: SandboxState, user_name: str, user_id: str | None) -> None:
    existing = state.user_by_name(user_name)
    if existing is not None and existing["id"] != user_id:
        raise SandboxError(409, "User with this email already exists")
