"""Bearer-token authentication and role checks for the admin API's views.

``@guarded(blueprint, Role.APPROVER)`` on a view: a missing or unknown token is 401 (with
``WWW-Authenticate``), a token whose role is too low is 403; both are documented in the
view's OpenAPI operation. The principal is ``flask.g.principal`` inside the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import Blueprint, abort

from sync.admin import context
from sync.admin.access import Principal, Role
from sync.audit.actors import console_actor
from sync.tokens import authenticate

F = TypeVar("F", bound=Callable[..., Any])
API_SCOPES = tuple(role.label for role in Role)


def principal_from_request() -> Principal | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    with context.session() as session:
        token = authenticate(session, secret.strip(), API_SCOPES)
    if token is None:
        return None
    role = Role.named(token.scope)
    return Principal(f"token:{token.name}", role, "token") if role else None


def guarded(blueprint: Blueprint, role: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = principal_from_request()
            if principal is None:
                abort(401, message="send a bearer token of scope viewer, approver or admin "
                      "(hr2bi tokens create NAME --scope viewer)",
                      headers={"WWW-Authenticate": 'Bearer realm="hr2bi"'})
            if not principal.may(role):
                abort(403, message=f"this needs the {role.label} role; the token is {principal.role.label}")
            g.principal = principal
            return view(*args, **kwargs)

        documented = blueprint.alt_response(401, response="DEFAULT_ERROR", description="No valid token.")(wrapper)
        return blueprint.alt_response(403, response="DEFAULT_ERROR", description=f"Needs the {role.label} role.")(documented)  # type: ignore[return-value]
    return decorate


def actor() -> str:
    """The audit actor of the calling script (``console:token:<name>``)."""
    return console_actor(g.principal.name)
