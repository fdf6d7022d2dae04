"""``GET /api/v1/overview``: health, the last runs, each HR source's freshness, held runs,
failing and quarantined changes, the BI rate limit (``sync.admin.overview``)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.admin import context
from sync.admin import overview as admin
from sync.admin.access import Role
from sync.api.auth import guarded
from sync.api.runs import RunSchema

blueprint = Blueprint("api_overview", __name__, url_prefix="/api/v1", description="The console's home.")
STATE = {"enum": ["ok", "embedded", "unreachable"]}


class HealthSchema(Schema):
    database = fields.String(required=True, metadata=STATE)
    broker = fields.String(required=True, metadata=STATE)
    bi_platform = fields.String(required=True, metadata=STATE)


class SourceSchema(Schema):
    source = fields.String(required=True)
    last_success = fields.String(allow_none=True, metadata={"description": "Last successful import (None: never)."})
    last_run = fields.Integer(required=True)
    last_status = fields.String(allow_none=True)


class OutboxSchema(Schema):
    failed = fields.Integer(required=True)
    quarantined = fields.Integer(required=True)
    pending = fields.Integer(required=True)


class KeyBookingSchema(Schema):
    ahead_seconds = fields.Float(required=True, metadata={"description": "How far ahead of now the key is booked."})
    parked_seconds = fields.Float(required=True, metadata={"description": "How long a 429 still parks it."})
    interval_seconds = fields.Float(required=True, metadata={"description": "The rate's spacing between requests."})
    free = fields.Boolean(required=True, metadata={"description": "It may send at once."})


class RateLimitSchema(Schema):
    keys = fields.Integer(required=True)
    per_key_per_minute = fields.Float(required=True)
    headroom = fields.Float(allow_none=True, metadata={
        "description": "The share of keys free to send now (workers sharing the limit through "
        "Redis); None when each worker limits itself, so the web process cannot know."})
    headroom_known = fields.Boolean(required=True)
    per_key = fields.List(fields.Nested(KeyBookingSchema), allow_none=True, required=True,
                          metadata={"description": "Each key's booking, in the configured order (never the key)."})
    last_plan = fields.Integer(allow_none=True)
    last_plan_calls = fields.Integer(allow_none=True)
    last_plan_rate_limited = fields.Integer(allow_none=True)


class OverviewSchema(Schema):
    health = fields.Nested(HealthSchema, required=True)
    last_runs = fields.List(fields.Nested(RunSchema), required=True)
    sources = fields.List(fields.Nested(SourceSchema), required=True)
    held = fields.List(fields.Nested(RunSchema), required=True)
    outbox = fields.Nested(OutboxSchema, required=True)
    rate_limit = fields.Nested(RateLimitSchema, required=True)


@blueprint.get("/overview")
@guarded(blueprint, Role.VIEWER)
@blueprint.response(200, OverviewSchema)
def overview() -> dict[str, Any]:
    settings = context.settings()
    with context.session() as session:
        found = admin.summary(session, settings)
    return {"health": admin.health(context.engine(), settings), **found}
