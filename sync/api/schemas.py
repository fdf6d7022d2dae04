"""Schemas every area shares: the error body and paging."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """Every refused request: the HTTP status, its name and a message fit to show."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String()
    errors = fields.Dict()


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=lambda n: 1 <= n <= 500,
                           metadata={"description": "Items per page (1-500)."})
    offset = fields.Integer(load_default=0, validate=lambda n: 0 <= n <= 10_000_000)
