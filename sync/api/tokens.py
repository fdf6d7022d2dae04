"""``/api/v1/tokens``: list, create and revoke bearer tokens (admins only). A new token's
secret is in the answer to its creation and nowhere else."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin.access import Role
from sync.admin.tokens import SCOPES, TokenTaken, UnknownToken, create, revoke, tokens
from sync.api.auth import actor, guarded
from sync.tokens import NAME_PATTERN

blueprint = Blueprint("api_tokens", __name__, url_prefix="/api/v1",
                      description="Bearer tokens for the SCIM endpoint and the admin API.")


class TokenSchema(Schema):
    name = fields.String(required=True)
    scope = fields.String(required=True, metadata={"enum": list(SCOPES)})
    prefix = fields.String(required=True, metadata={"description": "Tells tokens apart; not secret."})
    created_at = fields.String(required=True)
    last_used_at = fields.String(required=True, allow_none=True)
    revoked_at = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["active", "revoked"]})


class CreatedToken(TokenSchema):
    secret = fields.String(required=True, metadata={"description": "Shown this once: store it now."})


class TokenCreate(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100),
                                                  validate.Regexp(NAME_PATTERN)],
                         metadata={"description": "Letters, digits, '.', '_', '@', '-'."})
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))


@blueprint.get("/tokens")
@guarded(blueprint, Role.ADMIN)
@blueprint.response(200, TokenSchema(many=True))
def list_tokens() -> list[dict[str, Any]]:
    """Every token (never a secret)."""
    with context.session() as session:
        return tokens(session)


@blueprint.post("/tokens")
@guarded(blueprint, Role.ADMIN)
@blueprint.arguments(TokenCreate)
@blueprint.response(201, CreatedToken)
@blueprint.alt_response(409, response="DEFAULT_ERROR", description="The name is taken (revoked or not).")
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Create a token; its secret is in this answer only."""
    try:
        with context.session() as session:
            return create(session, body["name"], body["scope"], actor())
    except TokenTaken as refused:
        abort(409, message=str(refused))


@blueprint.post("/tokens/<name>/revoke")
@guarded(blueprint, Role.ADMIN)
@blueprint.response(200, TokenSchema)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No token of that name.")
def revoke_token(name: str) -> dict[str, Any]:
    """Revoke a token: it stops working at once."""
    try:
        with context.session() as session:
            return revoke(session, name, actor())
    except UnknownToken as refused:
        abort(404, message=str(refused))
