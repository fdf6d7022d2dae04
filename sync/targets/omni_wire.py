"""Omni's JSON shapes <-> the port's values. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sync.rules.tables import Role, canonical_role
from sync.targets.base import (
    AttributeDefinition,
    AttributeValue,
    BIGroup,
    BIUser,
    RoleAssignment,
    UserChanges,
)

ATTRIBUTES_URN = "urn:omni:params:1.0:UserAttribute"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_NAME_LIMIT = 64  # Omni refuses longer group names


def scim_filter(attribute: str, value: str) -> str:
    """``attribute eq "value"`` with the value escaped as a JSON string (RFC 7644 §3.4.2.2)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{attribute} eq "{escaped}"'


def wire_value(value: AttributeValue | None) -> Any:
    """Tuples go out as JSON arrays; ``None`` goes out as ``null``, which unsets."""
    return list(value) if isinstance(value, tuple) else value


def port_value(value: Any) -> AttributeValue | None:
    """Lists come back as tuples; ``null``, ``""`` and ``[]`` mean not set (Omni unsets
    an attribute given any of them)."""
    if value is None or value == "" or value == []:
        return None
    return tuple(value) if isinstance(value, list) else value


def user_from_json(body: Mapping[str, Any]) -> BIUser:
    raw = body.get(ATTRIBUTES_URN) or {}
    attributes = {k: v for k, v in ((k, port_value(v)) for k, v in raw.items()) if v is not None}
    return BIUser(id=body["id"], user_name=body["userName"],
                  display_name=body.get("displayName") or "", active=bool(body["active"]),
                  attributes=MappingProxyType(attributes))


def user_create_body(user_name: str, display_name: str,
                     attributes: Mapping[str, AttributeValue]) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name,
                            "displayName": display_name}
    values = {k: wire_value(v) for k, v in attributes.items() if v is not None}
    if values:
        body[ATTRIBUTES_URN] = values
    return body


def patch_ops(changes: UserChanges) -> list[dict[str, Any]]:
    """One operation per changed field; every op carries a ``value`` (Omni's spec requires
    one, even where SCIM would not)."""
    ops: list[dict[str, Any]] = []
    if changes.display_name is not None:
        ops.append({"op": "replace", "path": "displayName", "value": changes.display_name})
    if changes.active is not None:
        ops.append({"op": "replace", "path": "active", "value": changes.active})
    if changes.attributes:
        ops.append(attributes_patch(changes.attributes))
    return ops


def attributes_patch(attributes: Mapping[str, AttributeValue | None]) -> dict[str, Any]:
    """Omni merges the object by key, so only the named attributes change."""
    return {"op": "replace",
            "value": {ATTRIBUTES_URN: {k: wire_value(v) for k, v in attributes.items()}}}


def group_from_json(body: Mapping[str, Any]) -> BIGroup:
    members = frozenset(m["value"] for m in body.get("members") or [])
    return BIGroup(id=body["id"], name=body["displayName"], member_ids=members)


def attribute_definition(row: Mapping[str, Any]) -> AttributeDefinition:
    return AttributeDefinition(name=row["name"], label=row["label"], type=row["type"],
                               multiple_values=bool(row["multiple_values"]),
                               system=bool(row["system"]))


_ORIGINS = ("USER", "GROUP", "BASE", "ORG")


def role_origin(origin: Any, holder: str) -> str:
    """Where an assignment comes from, whatever the spelling: the spec says ``USER``,
    ``GROUP``, ``BASE``; Omni's examples show "User Role", "group", "Base role", and group
    answers with no ``from`` at all (then it is the group's own, ``holder``)."""
    if not isinstance(origin, Mapping):
        return holder
    text = str(origin.get("type") or "").strip().upper().replace("-", " ").replace("_", " ")
    first = text.split(" ")[0] if text else ""
    return first if first in _ORIGINS else (holder if not first else text)


def role_assignment(row: Mapping[str, Any], holder: str, connections: Mapping[str, str],
                    models: Mapping[str, str]) -> RoleAssignment:
    """One row of a model-roles answer, names resolved, role and origin normalized
    (``QUERY_TOPICS`` reads back as ``RESTRICTED_QUERIER``). ``holder``: USER or GROUP,
    whose roles were asked for."""
    origin = role_origin(row.get("from"), holder)
    connection = connections.get(row["connectionId"], row["connectionId"])
    model_id = row.get("modelId")
    model = models.get(model_id, model_id) if model_id else None
    role = canonical_role(str(row["roleName"]))
    if role == Role.CONNECTION_ADMIN.name and origin in ("USER", "GROUP"):
        model = None  # a connection-wide role, shown once per model
    group = row["from"].get("miniUuid") if isinstance(row.get("from"), Mapping) else None
    return RoleAssignment(connection, model, role, origin, group)
