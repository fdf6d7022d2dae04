"""``GET /api/v1/provisioning``: the provisioning log, every SCIM write of the identity
providers and what it caused at the BI platform (``sync.admin.provisioning`` says what is
recorded and what is inferred)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin.access import Role
from sync.admin.provisioning import OPERATIONS, RESOURCES, ScimLogQuery, scim_requests
from sync.api.audit import TEXT, SeqPageArgs
from sync.api.auth import guarded

blueprint = Blueprint("api_provisioning", __name__, url_prefix="/api/v1",
                      description="SCIM writes and what they caused downstream.")


class ProvisioningArgs(SeqPageArgs):
    token = fields.String(validate=TEXT, metadata={"description": "The IdP's token name."})
    operation = fields.String(validate=validate.OneOf(OPERATIONS))
    resource = fields.String(validate=validate.OneOf(RESOURCES))
    outcome = fields.String(validate=TEXT, metadata={"description": "The audit outcome (success)."})


class BiChange(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    subject = fields.String(required=True)
    action = fields.String(required=True, metadata={"description": "The audit action of the BI call."})
    run = fields.Integer(required=True, metadata={"description": "The run it landed in (a newer one when superseded)."})
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    done_at = fields.String(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    payload = fields.Dict(required=True)


class RunRef(Schema):
    id = fields.Integer(required=True)
    mode = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    started_at = fields.String(required=True, allow_none=True)


class ScimRequest(Schema):
    seq = fields.Integer(required=True, metadata={"description": "The audit event's seq."})
    time = fields.String(required=True)
    token = fields.String(required=True)
    resource = fields.String(required=True)
    operation = fields.String(required=True)
    outcome = fields.String(required=True)
    target_id = fields.String(required=True)
    target_name = fields.String(required=True, allow_none=True)
    run = fields.Nested(RunRef, required=True, allow_none=True)
    changes = fields.List(fields.Nested(BiChange), required=True)
    landed = fields.String(required=True, metadata={"enum": ["none", "done", "failed", "pending"]})


class ProvisioningPage(Schema):
    requests = fields.List(fields.Nested(ScimRequest), required=True)
    next_before = fields.Integer(required=True, allow_none=True)
    link_note = fields.String(required=True)


@blueprint.get("/provisioning")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(ProvisioningArgs, location="query")
@blueprint.response(200, ProvisioningPage)
def provisioning(args: dict[str, Any]) -> dict[str, Any]:
    """SCIM writes, newest first, each with the BI calls it caused and when they landed."""
    query = ScimLogQuery(**{k: args.get(k) for k in ("token", "operation", "resource", "outcome",
                                                    "since", "until", "before")},
                         limit=args["limit"])
    with context.session() as session:
        return scim_requests(session, query)
