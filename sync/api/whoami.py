"""``GET /api/v1/whoami``: who the token is and what it may do (a script's first check)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.admin.access import Role
from sync.api.auth import guarded

blueprint = Blueprint("api_whoami", __name__, url_prefix="/api/v1", description="The caller.")


class WhoAmI(Schema):
    name = fields.String(required=True, metadata={"description": "token:<name>"})
    role = fields.String(required=True, metadata={"enum": [r.label for r in Role]})
    via = fields.String(required=True)


@blueprint.get("/whoami")
@guarded(blueprint, Role.VIEWER)
@blueprint.response(200, WhoAmI)
def whoami() -> dict[str, Any]:
    return {"name": g.principal.name, "role": g.principal.role.label, "via": g.principal.via}
