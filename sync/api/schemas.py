"""Schemas every area shares: the error body and paging."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ErrorSchema(Schema):
    """Every refused request: the HTTP status, its name and a message fit to show."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String()
    errors = fields.Dict()


class PageArgs(Schema):
    # validate.Range, not a lambda: marshmallow 4 ignores a validator's False (it must
    # raise), and a Range is also written into the OpenAPI document as minimum/maximum.
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500),
                           metadata={"description": "Items per page (1-500)."})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000))
