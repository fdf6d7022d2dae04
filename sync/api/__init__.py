"""The admin API: ``/api/v1/...``, JSON, described by the OpenAPI document it serves at
``/api/v1/openapi.json`` (flask-smorest builds it from the views' marshmallow schemas, so
the document and the answers cannot drift apart; schemathesis checks both in the tests).

Callers authenticate with a bearer token of scope viewer, approver or admin (``hr2bi
tokens create NAME --scope viewer``); each scope is the console role of the same name
(``sync.admin.access``). The console renders the same ``sync.admin`` functions as pages.

Each area is a module with its own ``blueprint``; ``register`` mounts them all.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from sync.api.schemas import ErrorSchema

PREFIX = "/api/v1"
SPEC_PATH = "openapi.json"
# The areas' modules, each with a ``blueprint`` (flask_smorest.Blueprint under PREFIX).
ROUTING_CODES = (404, 405, 413)  # the app-level handlers of scim.service.register
AREAS: tuple[str, ...] = ("whoami", "overview", "runs", "provision", "people", "mappings", "provisioning",
                          "audit", "tokens")


class AdminApi(Api):
    """flask-smorest's Api, answering in JSON only for its own blueprints (its default
    handler would take over every HTTP error of the app, SCIM's included)."""

    def _register_error_handlers(self) -> None:
        pass

    def register_blueprint(self, blp, **options):  # type: ignore[no-untyped-def]
        if not getattr(blp, "_hr2bi_errors", False):  # once: blueprints outlive apps (tests)
            # By code too: Flask tries handlers by status code before by class, the app's
            # included: the SCIM routing-error handlers for these codes (scim/service.py)
            # would otherwise answer a view's abort(404, message=...) with werkzeug's HTML page.
            for error in (HTTPException, *ROUTING_CODES):
                blp.register_error_handler(error, self.handle_http_exception)
            blp._hr2bi_errors = True
        super().register_blueprint(blp, **options)


def register(app: Flask) -> AdminApi:
    import importlib

    app.config.update(
        API_TITLE="hr2bi admin API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH=SPEC_PATH,
        API_SPEC_OPTIONS={
            "info": {"description": "Runs, held plans, people and their explanations, the "
                     "provisioning log, the audit trail and tokens: what the admin console "
                     "shows and does. Bearer token of scope viewer, approver or admin."},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = AdminApi(app)
    api.ERROR_SCHEMA = ErrorSchema
    for area in AREAS:
        api.register_blueprint(importlib.import_module(f"sync.api.{area}").blueprint)
    return api
