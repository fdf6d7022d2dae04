"""``/api/v1/audit/...``: search the audit trail, its checkpoint history, the export bundle.

``GET /audit/export`` streams the same zip as ``/api/audit/export`` (``hr2bi audit verify``
accepts it as it is) and records the download as an ``audit.export`` event of the caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin.access import Role
from sync.admin.audit import (
    EventQuery,
    checkpoint_history,
    export_bundle,
    search_events,
)
from sync.api.auth import actor, guarded
from sync.audit.api import ApiError

blueprint = Blueprint("api_audit", __name__, url_prefix="/api/v1",
                      description="The audit trail: search, checkpoints, export bundles.")
# Filters are plain text without control characters (PostgreSQL refuses NUL in text); an
# empty one is no filter (a form sends every field). A list, so the OpenAPI document says both.
TEXT = [validate.Length(max=200), validate.Regexp(r"^[^\x00-\x1f\x7f]*$")]


class TimeArgs(Schema):
    since = fields.AwareDateTime(default_timezone=dt.UTC,
                                 metadata={"description": "From this time (ISO 8601; UTC without an offset)."})
    until = fields.AwareDateTime(default_timezone=dt.UTC, metadata={"description": "Before this time."})


class SeqPageArgs(TimeArgs):
    """Newest first; ``before`` is the previous page's ``next_before``."""

    # audit_events.seq is an INTEGER column: on PostgreSQL a larger bound is a DataError (500).
    before = fields.Integer(validate=validate.Range(1, 2**31 - 1),
                            metadata={"description": "Only events with a seq below this one."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500),
                           metadata={"description": "Items per page (1-500)."})


class EventArgs(SeqPageArgs):
    actor = fields.String(validate=TEXT, metadata={"description": "Actor prefix (console:, token:okta)."})
    target = fields.String(validate=TEXT, metadata={"description": "Target id, or name (any case)."})
    action = fields.String(validate=TEXT, metadata={"description": "Action, or family (token)."})


class EventSchema(Schema):
    seq = fields.Integer(required=True)
    time = fields.String(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.Raw(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.Raw(allow_none=True)
    run = fields.Integer(allow_none=True)
    outcome = fields.String(required=True)


class EventPage(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    next_before = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "before= of the next page; null at the end."})


class CheckpointArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 200))


class CheckpointSchema(Schema):
    id = fields.Integer(required=True)
    size = fields.Integer(required=True)
    root = fields.String(required=True, metadata={"description": "Merkle root, hex."})
    time = fields.String(required=True)
    run = fields.Integer(allow_none=True)
    signature = fields.String(required=True, metadata={"enum": ["valid", "invalid", "unchecked"]})
    signature_detail = fields.String(allow_none=True)
    consistent = fields.Boolean(allow_none=True, metadata={"description": "With the one before it; null for the first."})
    consistency_detail = fields.String(allow_none=True)


class CheckpointHistory(Schema):
    signing_key = fields.Boolean(required=True)
    key_problem = fields.String(allow_none=True)
    log_size = fields.Integer(required=True)
    checkpoints = fields.List(fields.Nested(CheckpointSchema), required=True)


def event_query(args: dict[str, Any]) -> EventQuery:
    return EventQuery(**{k: args.get(k) for k in ("actor", "target", "action", "since", "until", "before")},
                      limit=args.get("limit", 50))


@blueprint.get("/audit/events")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(EventArgs, location="query")
@blueprint.response(200, EventPage)
def events(args: dict[str, Any]) -> dict[str, Any]:
    """Search the audit trail, newest first."""
    with context.session() as session:
        return search_events(session, event_query(args))


@blueprint.get("/audit/checkpoints")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(CheckpointArgs, location="query")
@blueprint.response(200, CheckpointHistory)
def checkpoints(args: dict[str, Any]) -> dict[str, Any]:
    """The stored signed checkpoints, newest first, each verified."""
    with context.session() as session:
        return checkpoint_history(session, context.settings(), args["limit"])


@blueprint.get("/audit/export")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(TimeArgs, location="query")
@blueprint.response(200, content_type="application/zip",
                    description="The export bundle (zip): `hr2bi audit verify FILE`.")
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No events in that range (or since is not before until).")
@blueprint.alt_response(503, response="DEFAULT_ERROR", description="No usable signing key.")
def export(args: dict[str, Any]) -> Response:
    """Download the export bundle of the events in [since, until)."""
    try:
        return export_bundle(context.engine(), context.settings(), actor(), args.get("since"),
                             args.get("until")).response()
    except ApiError as refused:
        abort(refused.status, message=refused.message)
