"""The sandbox's Flask app: the part of Omni's API that its published provisioning spec
describes, and nothing else. Every request is first checked against that spec
(:mod:`contract`) and refused 400 in Omni's error shape if it does not validate. Views
parse, call the pure functions of ``users``, ``groups`` and ``roles`` on the store, and
serialize."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from sync.sandbox import groups, roles, users
from sync.sandbox.contract import Contract
from sync.sandbox.limits import Gate, RateLimited, SandboxConfig
from sync.sandbox.state import SandboxError, SandboxState, SandboxStore

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_EQ_FILTER = re.compile(r'^\s*(\w+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def create_sandbox_app(config: SandboxConfig, store: SandboxStore, *,
                       gate: Gate | None = None) -> Flask:
    app = Flask("hr2bi-sandbox")
    app.config["JSON_SORT_KEYS"] = False
    gate = gate or Gate(config)

    @app.errorhandler(SandboxError)
    def sandbox_error(exc: SandboxError) -> tuple[Response, int]:
        response = jsonify(exc.body())
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        return jsonify({"error": str(status), "message": exc.description or exc.name}), status

    contract = Contract.load()

    @app.before_request
    def admit() -> None:
        gate.admit(request.headers.get("Authorization"))
        # Strict, as Omni: a request the published spec does not allow is refused before
        # anything is done. One not in the spec at all is left to routing (404, 405).
        if contract.operation(request.method, request.path) is not None:
            problems = contract.problems(request.method, request.path, request.args.items(multi=True),
                                         request.headers, request.get_data(cache=True))
            if problems:
                raise SandboxError(400, "; ".join(problems[:3]))

    def write(action: Callable[[SandboxState], Any]) -> Any:
        result = store.change(action)
        gate.slow_down()
        return result

    _user_routes(app, config, store, write)
    _group_routes(app, store, write)
    _v1_routes(app, config, store, write)
    return app


def _user_routes(app: Flask, config: SandboxConfig, store: SandboxStore,
                 write: Callable[[Callable[[SandboxState], Any]], Any]) -> None:
    @app.get("/api/scim/v2/Users")
    def list_users() -> Response:
        def page(state: SandboxState) -> Response:
            rows = list(state.users.values())
            name = _filter_value("userName")
            if name is not None:
                rows = [u for u in rows if u["userName"].lower() == name.lower()]
            return _list_response(rows, users.user_json)
        return store.read(page)

    @app.post("/api/scim/v2/Users")
    def create_user() -> tuple[Response, int]:
        user = write(lambda s: users.user_json(users.create_user(s, _body())))
        return jsonify(user), 201

    @app.get("/api/scim/v2/Users/<user_id>")
    def get_user(user_id: str) -> Response:
        return jsonify(store.read(lambda s: users.user_json(users.find_user(s, user_id))))

    @app.put("/api/scim/v2/Users/<user_id>")
    def replace_user(user_id: str) -> Response:
        return jsonify(write(lambda s: users.user_json(users.replace_user(s, user_id, _body()))))

    @app.patch("/api/scim/v2/Users/<user_id>")
    def patch_user(user_id: str) -> Response:
        return jsonify(write(lambda s: users.user_json(users.patch_user(
            s, user_id, _body(), reactivation=config.reactivation))))

    @app.delete("/api/scim/v2/Users/<user_id>")
    def delete_user(user_id: str) -> tuple[str, int]:
        write(lambda s: users.delete_user(s, user_id))
        return "", 204


def _group_routes(app: Flask, store: SandboxStore,
                  write: Callable[[Callable[[SandboxState], Any]], Any]) -> None:
    def shown(state: SandboxState) -> Callable[[dict[str, Any]], dict[str, Any]]:
        with_members = request.args.get("excludedAttributes") != "members"
        return lambda g: groups.group_json(state, g, with_members)

    @app.get("/api/scim/v2/Groups")
    def list_groups() -> Response:
        def page(state: SandboxState) -> Response:
            rows = list(state.groups.values())
            name = _filter_value("displayName")
            if name is not None:
                rows = [g for g in rows if g["displayName"].lower() == name.lower()]
            return _list_response(rows, shown(state))
        return store.read(page)

    @app.post("/api/scim/v2/Groups")
    def create_group() -> tuple[Response, int]:
        return jsonify(write(lambda s: shown(s)(groups.create_group(s, _body())))), 201

    @app.get("/api/scim/v2/Groups/<group_id>")
    def get_group(group_id: str) -> Response:
        return jsonify(store.read(lambda s: shown(s)(groups.find_group(s, group_id))))

    @app.put("/api/scim/v2/Groups/<group_id>")
    def replace_group(group_id: str) -> Response:
        return jsonify(write(lambda s: shown(s)(groups.replace_group(s, group_id, _body()))))

    @app.patch("/api/scim/v2/Groups/<group_id>")
    def patch_group(group_id: str) -> Response:
        return jsonify(write(lambda s: shown(s)(groups.patch_group(s, group_id, _body()))))

    @app.delete("/api/scim/v2/Groups/<group_id>")
    def delete_group(group_id: str) -> tuple[str, int]:
        write(lambda s: groups.delete_group(s, group_id))
        return "", 204


def _v1_routes(app: Flask, config: SandboxConfig, store: SandboxStore,
               write: Callable[[Callable[[SandboxState], Any]], Any]) -> None:
    @app.get("/api/v1/user-attributes")
    def user_attributes() -> Response:
        return jsonify({"records": store.read(lambda s: [dict(a) for a in s.attributes])})

    @app.get("/api/v1/connections")
    def connections() -> Response:
        query = request.args.to_dict()
        return jsonify({"connections": store.read(lambda s: roles.list_connections(s, query))})

    @app.get("/api/v1/models")
    def models() -> Response:
        query = request.args.to_dict()
        return jsonify(store.read(lambda s: roles.list_models(s, query)))

    @app.patch("/api/v1/connections/<connection_id>")
    def update_connection(connection_id: str) -> Response:
        return jsonify(write(lambda s: roles.update_connection(s, connection_id, _body())))

    @app.post("/api/v1/users/<user_id>/model-roles")
    def assign_user_role(user_id: str) -> Response:
        def assign(state: SandboxState) -> dict[str, Any]:
            users.find_user(state, user_id)
            result = roles.assign_role(state, state.user_roles.setdefault(user_id, {}), _body())
            return {**result, "membershipId": user_id}
        return jsonify(write(assign))

    @app.get("/api/v1/users/<user_id>/model-roles")
    def user_roles(user_id: str) -> Response:
        def read(state: SandboxState) -> dict[str, Any]:
            users.find_user(state, user_id)
            rows = roles.user_assignments(state, user_id, request.args.to_dict())
            if config.role_answers == "docs":
                rows = roles.as_documented(rows, group=False)
            return {"membershipId": user_id, "results": rows}
        return jsonify(store.read(read))

    @app.post("/api/v1/user-groups/<group_id>/model-roles")
    def assign_group_role(group_id: str) -> Response:
        def assign(state: SandboxState) -> dict[str, Any]:
            groups.find_group(state, group_id)
            result = roles.assign_role(state, state.group_roles.setdefault(group_id, {}), _body())
            return {**result, "userGroupId": group_id}
        return jsonify(write(assign))

    @app.get("/api/v1/user-groups/<group_id>/model-roles")
    def group_roles(group_id: str) -> Response:
        def read(state: SandboxState) -> dict[str, Any]:
            group = groups.find_group(state, group_id)
            rows = roles.group_assignments(state, group, request.args.to_dict())
            if config.role_answers == "docs":
                rows = roles.as_documented(rows, group=True)
            return {"userGroupId": group_id, "results": rows}
        return jsonify(store.read(read))


def _body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise SandboxError(400, "The body must be JSON")
    return body


def _filter_value(attribute: str) -> str | None:
    """The value of ``attribute eq "value"``, the only filter Omni's lists take."""
    text = request.args.get("filter")
    if text is None:
        return None
    match = _EQ_FILTER.match(text)
    if not match or match.group(1).lower() != attribute.lower():
        raise SandboxError(400, f'Unsupported filter: only {attribute} eq "..." is supported')
    return re.sub(r"\\(.)", r"\1", match.group(2))


def _list_response(rows: list[dict[str, Any]], shape: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    start = _positive("startIndex", 1)
    count = _positive("count", 100, allow_zero=True)
    page = rows[start - 1:start - 1 + count]
    return jsonify({"schemas": [LIST_SCHEMA], "totalResults": len(rows), "startIndex": start,
                    "itemsPerPage": len(page), "Resources": [shape(r) for r in page]})


def _positive(name: str, default: int, allow_zero: bool = False) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise SandboxError(400, f"{name} must be a number") from None
    return max(value, 0 if allow_zero else 1)
