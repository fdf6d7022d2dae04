"""Model roles, connections and attribute definitions as Omni answers them.

Role assignments are upserts keyed on the model (or, for CONNECTION_ADMIN only, the
connection). Reading a user's roles lists, per model, every assignment that reaches it
(direct, through a group, the connection's base role) and marks the highest resolved.
"""

from __future__ import annotations

from typing import Any

from sync.sandbox.state import SandboxError, SandboxState

LADDER = ("NO_ACCESS", "VIEWER", "RESTRICTED_QUERIER", "QUERIER", "MODELER", "CONNECTION_ADMIN")
# QUERY_TOPICS is Omni's other name for RESTRICTED_QUERIER.
ALIASES = {"QUERY_TOPICS": "RESTRICTED_QUERIER"}
EPOCH = "2026-01-01T00:00:00.000Z"  # createdAt/updatedAt of seeded models


def assign_role(state: SandboxState, holder_roles: dict[str, str], body: Any) -> dict[str, Any]:
    """Validate ``{connectionId?, modelId?, roleName}`` and upsert it into ``holder_roles``."""
    if not isinstance(body, dict):
        raise SandboxError(400, "Invalid request body")
    role = ALIASES.get(body.get("roleName"), body.get("roleName"))
    if role not in LADDER:
        raise SandboxError(400, f"Unknown role {body.get('roleName')!r}")
    connection_id, model_id = body.get("connectionId"), body.get("modelId")
    if model_id is not None:
        model = _model(state, model_id)
        if connection_id is not None and connection_id != model["connectionId"]:
            raise SandboxError(400, "modelId does not belong to connectionId")
        holder_roles[f"model:{model_id}"] = role
        return {"connectionId": model["connectionId"], "modelId": model_id, "roleName": role}
    if connection_id is None:
        raise SandboxError(400, "connectionId or modelId required")
    connection(state, connection_id)
    if role != "CONNECTION_ADMIN":
        raise SandboxError(400, "modelId is required for every role but CONNECTION_ADMIN")
    holder_roles[f"connection:{connection_id}"] = role
    # The spec's answer always names a model: for a connection-wide role, the sandbox names
    # the connection's first model (standing for Omni's schema model of the connection).
    first = next((m["id"] for m in state.models if m["connectionId"] == connection_id), None)
    return {"connectionId": connection_id, "modelId": first, "roleName": role}


def user_assignments(state: SandboxState, user_id: str, query: dict[str, str]) -> list[dict[str, Any]]:
    sources: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"type": "USER"}, state.user_roles.get(user_id, {}))]
    for group in state.groups.values():
        if user_id in group["members"]:
            origin = {"type": "GROUP", "miniUuid": group["id"], "name": group["displayName"],
                      "depth": 0}
            sources.append((origin, state.group_roles.get(group["id"], {})))
    results = []
    for model in _models(state, query):
        rows = _rows(state, model, sources)
        base = connection(state, model["connectionId"]).get("baseRole")
        if base in LADDER:
            rows.append(_row(model, base, {"type": "BASE"}))
        if rows:
            best = max(range(len(rows)), key=lambda i: (rows[i]["priority"], -i))
            for index, row in enumerate(rows):
                row["resolved"] = index == best
        results.extend(rows)
    return results


def group_assignments(state: SandboxState, group: dict[str, Any], query: dict[str, str]) -> list[dict[str, Any]]:
    origin = {"type": "GROUP", "miniUuid": group["id"], "name": group["displayName"], "depth": 0}
    sources = [(origin, state.group_roles.get(group["id"], {}))]
    return [row for model in _models(state, query) for row in _rows(state, model, sources)]


_DOC_ORIGINS = {"USER": "User Role", "GROUP": "Group Role", "BASE": "Base Role"}


def as_documented(rows: list[dict[str, Any]], *, group: bool) -> list[dict[str, Any]]:
    """The answer in the shapes Omni's documentation examples show rather than the spec's:
    ``from.type`` spelled "User Role", the restricted role named QUERY_TOPICS, and a
    group's own assignments with no ``from`` at all."""
    shown = []
    for row in rows:
        row = {**row, "roleName": _doc_role(row["roleName"]), "baseRole": _doc_role(row["baseRole"])}
        if group:
            row.pop("from", None)
        else:
            row["from"] = {**row["from"], "type": _DOC_ORIGINS.get(row["from"]["type"], row["from"]["type"])}
        shown.append(row)
    return shown


def _doc_role(role: str) -> str:
    return "QUERY_TOPICS" if role == "RESTRICTED_QUERIER" else role


def _rows(state: SandboxState, model: dict[str, Any],
          sources: list[tuple[dict[str, Any], dict[str, str]]]) -> list[dict[str, Any]]:
    rows = []
    for origin, roles in sources:
        # A connection-wide role (CONNECTION_ADMIN) shows on every model of the connection.
        for key in (f"model:{model['id']}", f"connection:{model['connectionId']}"):
            if key in roles:
                rows.append(_row(model, roles[key], origin))
    return rows


def _row(model: dict[str, Any], role: str, origin: dict[str, Any]) -> dict[str, Any]:
    return {"connectionId": model["connectionId"], "modelId": model["id"], "roleName": role,
            "baseRole": role, "priority": LADDER.index(role), "from": dict(origin)}


def _models(state: SandboxState, query: dict[str, str]) -> list[dict[str, Any]]:
    return [m for m in state.models
            if query.get("connectionId") in (None, m["connectionId"])
            and query.get("modelId") in (None, m["id"])]


def _model(state: SandboxState, model_id: str) -> dict[str, Any]:
    for model in state.models:
        if model["id"] == model_id:
            return model
    raise SandboxError(404, "Model not found")


def connection(state: SandboxState, connection_id: str) -> dict[str, Any]:
    for row in state.connections:
        if row["id"] == connection_id:
            return row
    raise SandboxError(404, "Connection not found")


MODEL_KINDS = ("SCHEMA", "SHARED", "SHARED_EXTENSION", "BRANCH", "WORKBOOK", "QUERY")
MODEL_SORT_FIELDS = ("name", "modelKind", "connectionId", "baseModelId", "createdAt", "updatedAt")


def model_json(model: dict[str, Any]) -> dict[str, Any]:
    """A model as ``GET /api/v1/models`` shows it (older saved states lack some fields)."""
    return {"id": model["id"], "name": model.get("name"), "connectionId": model.get("connectionId"),
            "modelKind": model.get("modelKind", "SHARED"), "baseModelId": model.get("baseModelId"),
            "deletedAt": model.get("deletedAt"), "createdAt": model.get("createdAt", EPOCH),
            "updatedAt": model.get("updatedAt", EPOCH)}


def list_models(state: SandboxState, query: dict[str, str]) -> dict[str, Any]:
    """``GET /api/v1/models``: filters, sorting and cursor paging as the spec says. The
    cursor is opaque to clients (here: the offset of the next page)."""
    deleted = query.get("includeDeleted") in ("1", "true")
    kind = query.get("modelKind")
    if kind is not None and kind not in MODEL_KINDS:
        raise SandboxError(400, f"modelKind must be one of {', '.join(MODEL_KINDS)}")
    rows = [model_json(m) for m in state.models]
    rows = [m for m in rows if (deleted or not m["deletedAt"])
            and all(query.get(f) in (None, m[f]) for f in ("connectionId", "baseModelId", "modelKind"))
            and query.get("modelId") in (None, m["id"])
            and query.get("name") in (None, m["name"])]
    field = query.get("sortField", "name")
    if field not in MODEL_SORT_FIELDS:
        raise SandboxError(400, f"sortField must be one of {', '.join(MODEL_SORT_FIELDS)}")
    rows.sort(key=lambda m: (str(m[field] or "").lower(), m["id"]),
              reverse=query.get("sortDirection") == "desc")
    size = _page_size(query.get("pageSize"))
    start = _cursor(query.get("cursor"))
    page = rows[start:start + size]
    more = start + size < len(rows)
    return {"pageInfo": {"hasNextPage": more, "nextCursor": str(start + size) if more else None,
                         "pageSize": size, "totalRecords": len(rows)},
            "records": page}


def _page_size(text: str | None) -> int:
    if text is None:
        return 20
    try:
        size = int(text)
    except ValueError:
        raise SandboxError(400, "pageSize must be a positive integer") from None
    if size <= 0:
        raise SandboxError(400, "pageSize must be a positive integer")
    return size


def _cursor(text: str | None) -> int:
    if text is None:
        return 0
    if not text.isdigit():
        raise SandboxError(400, "Invalid cursor")
    return int(text)


def list_connections(state: SandboxState, query: dict[str, str]) -> list[dict[str, Any]]:
    rows = [c for c in state.connections
            if (query.get("includeDeleted") == "true" or not c["deletedAt"])
            and query.get("name", "").lower() in c["name"].lower()
            and query.get("database", "").lower() in (c["database"] or "").lower()
            and (not query.get("dialect") or c["dialect"] in query["dialect"].split(","))]
    field = query.get("sortField", "name")
    if field not in ("name", "database", "dialect"):
        raise SandboxError(400, "sortField must be database, dialect or name")
    return sorted(rows, key=lambda c: (c[field] or "").lower(),
                  reverse=query.get("sortDirection") == "desc")


def update_connection(state: SandboxState, connection_id: str, body: Any) -> dict[str, Any]:
    row = connection(state, connection_id)
    if not isinstance(body, dict) or not body:
        raise SandboxError(400, "At least one field must be provided")
    if "baseRole" in body:
        if body["baseRole"] not in LADDER:
            raise SandboxError(400, f"Unknown role {body['baseRole']!r}")
        row["baseRole"] = body["baseRole"]
    if "environmentUserAttribute" in body:
        setting = body["environmentUserAttribute"] or {}
        row["userAttributeNameForConnectionsEnvironments"] = setting.get("attributeName")
        row["userAttributeValuesForDefaultEnvironment"] = setting.get("defaultValues")
    return {"message": "Updated connection.", "success": True}
