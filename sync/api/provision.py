"""``POST /api/v1/provision``: one person now (or a dry run), step by step
(``sync.admin.provision``; ``hr2bi provision`` does the same)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin import provision as admin
from sync.admin.access import Role
from sync.api.auth import actor, guarded
from sync.api.runs import NOT_BLANK, ChangeSchema
from sync.errors import UserError
from sync.people.views import PersonNotFound

blueprint = Blueprint("api_provision", __name__, url_prefix="/api/v1",
                      description="Provision one person on demand.")
OUTCOMES = ["no changes", "would change", "applied", "held", "failed", "planned"]


class ProvisionBody(Schema):
    person = fields.String(required=True, validate=[validate.Length(min=1, max=320), NOT_BLANK],
                           metadata={"description": "Employee id, email, userName or SCIM id."})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Plan only: nothing written or sent."})


class CallSchema(Schema):
    method = fields.String(required=True)
    path = fields.String(required=True)
    status = fields.Integer(required=True)


class ProvisionRun(Schema):
    id = fields.Integer(allow_none=True)
    status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    applied = fields.Integer()
    failed = fields.Integer()
    quarantined = fields.Integer()
    error = fields.String(allow_none=True)


class ProvisionReport(Schema):
    person = fields.String(required=True)
    dry_run = fields.Boolean(required=True)
    sources = fields.List(fields.Dict(), required=True, metadata={"description": "1. the sources read"})
    people = fields.List(fields.Dict(), required=True, metadata={"description": "2. the merged person, "
                         "each field and where it came from, the account and the mapping rows"})
    explained = fields.List(fields.String(), required=True)
    problems = fields.List(fields.String(), required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True, metadata={"description": "3. the changes"})
    calls = fields.List(fields.Nested(CallSchema), required=True, metadata={"description": "4. each BI call"})
    run = fields.Nested(ProvisionRun, allow_none=True)
    outcome = fields.String(required=True, metadata={"enum": OUTCOMES})


@blueprint.post("/provision")
@guarded(blueprint, Role.APPROVER)
@blueprint.arguments(ProvisionBody)
@blueprint.response(200, ProvisionReport)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="Nobody has that id, email or name.")
@blueprint.alt_response(409, response="DEFAULT_ERROR", description="It cannot be done now (the message says why).")
def provision(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return admin.provision(context.engine(), context.settings(), body["person"], actor(),
                               dry_run=body["dry_run"])
    except PersonNotFound as exc:
        abort(404, message=str(exc))
    except UserError as exc:
        abort(409, message=str(exc))
