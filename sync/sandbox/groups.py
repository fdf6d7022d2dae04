"""SCIM groups as Omni keeps them: short string ids, names of at most 64 characters and
unique, many members added by one PATCH, one removed by ``members[value eq "<id>"]``.
Pure functions over :class:`SandboxState`; they raise :class:`SandboxError`."""

from __future__ import annotations

import re
from typing import Any

from sync.sandbox.state import SandboxError, SandboxState

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
NAME_LIMIT = 64
_REMOVE_MEMBER = re.compile(r'^members\[value eq "(.+)"\]$')


def group_json(state: SandboxState, group: dict[str, Any], with_members: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group["id"],
                            "displayName": group["displayName"]}
    if with_members:
        body["members"] = [{"value": m, "display": state.users[m]["userName"]}
                           for m in group["members"] if m in state.users]
    return body


def create_group(state: SandboxState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SandboxError(400, "Invalid request body")
    name = _name(state, body.get("displayName"), None)
    group = {"id": state.new_group_id(), "displayName": name,
             "members": _members(state, body.get("members", []), [])}
    state.groups[group["id"]] = group
    return group


def replace_group(state: SandboxState, group_id: str, body: Any) -> dict[str, Any]:
    group = find_group(state, group_id)
    if not isinstance(body, dict) or "members" not in body:
        raise SandboxError(400, "displayName and members are required")
    name = _name(state, body.get("displayName"), group_id)
    group.update(displayName=name, members=_members(state, body["members"], []))
    return group


def patch_group(state: SandboxState, group_id: str, body: Any) -> dict[str, Any]:
    group = find_group(state, group_id)
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list):
        raise SandboxError(400, "Operations must be a list")
    name, members = group["displayName"], list(group["members"])
    for operation in operations:
        name, members = _apply(state, group_id, name, members, operation)
    group.update(displayName=name, members=members)
    return group


def delete_group(state: SandboxState, group_id: str) -> None:
    find_group(state, group_id)
    del state.groups[group_id]
    state.group_roles.pop(group_id, None)


def find_group(state: SandboxState, group_id: str) -> dict[str, Any]:
    try:
        return state.groups[group_id]
    except KeyError:
        raise SandboxError(404, "Group not found") from None


def _apply(state: SandboxState, group_id: str, name: str, members: list[str],
           operation: Any) -> tuple[str, list[str]]:
    if not isinstance(operation, dict):
        raise SandboxError(400, "Invalid patch operation")
    op, path, value = str(operation.get("op", "")).lower(), operation.get("path"), operation.get("value")
    if op == "replace" and path is None and isinstance(value, dict) and "displayName" in value:
        return _name(state, value["displayName"], group_id), members
    if op == "replace" and path == "displayName":
        return _name(state, value, group_id), members
    if op == "replace" and path == "members":
        return name, _members(state, value, [])
    if op == "add" and path == "members":
        return name, _members(state, value, members)
    match = _REMOVE_MEMBER.match(path or "") if op == "remove" else None
    if match:
        return name, [m for m in members if m != match.group(1)]
    raise SandboxError(400, "Invalid patch operations")


def _members(state: SandboxState, value: Any, current: list[str]) -> list[str]:
    if not isinstance(value, list):
        raise SandboxError(400, "members must be a list")
    members = list(current)
    for member in value:
        user_id = member.get("value") if isinstance(member, dict) else None
        if user_id not in state.users:
            raise SandboxError(400, f"Unknown member {user_id!r}")
        if user_id not in members:
            members.append(user_id)
    return members


def _name(state: SandboxState, value: Any, group_id: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SandboxError(400, "displayName is required")
    if len(value) > NAME_LIMIT:
        raise SandboxError(400, f"displayName is longer than {NAME_LIMIT} characters")
    existing = state.group_by_name(value)
    if existing is not None and existing["id"] != group_id:
        raise SandboxError(409, "Group with this name already exists")
    return value
