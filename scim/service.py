"""Mounting the SCIM blueprint: what it needs from its host, passed in explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, request
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from scim.store import WriteHook
from scim.views import SCIM_PREFIX, blueprint, error_response, http_to_scim


@dataclass(frozen=True)
class ScimConfig:
    engine: Engine
    # Returns the actor name (the token's name) for a valid SCIM bearer token, else None.
    authenticate: Callable[[str], str | None]
    base_url: str | None = None
    max_results: int = 1000
    default_count: int = 100
    bulk_max_operations: int = 250
    bulk_max_payload: int = 1_048_576
    max_payload: int = 1_048_576
    # Called in the write's own transaction for every stored write (the audit log).
    on_write: WriteHook | None = None


def register(app: Flask, config: ScimConfig) -> None:
    app.extensions["scim"] = config
    app.register_blueprint(blueprint, url_prefix=SCIM_PREFIX)

    # Routing errors happen before a blueprint is chosen: answer SCIM clients in SCIM.
    def routing_error(error: HTTPException) -> Response | HTTPException:
        if request.path.startswith(SCIM_PREFIX):
            return error_response(http_to_scim(error))
        return error

    for status in (404, 405, 413):
        app.register_error_handler(status, routing_error)
