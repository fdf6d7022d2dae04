"""``GET /api/v1/people?q=`` (search) and ``GET /api/v1/people/{key}`` (one person: every
field and where it came from, the account they should have and the one they have, why,
and their history)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, fields, validate

from sync.admin import context
from sync.admin.access import Role
from sync.admin.mappings import tables_or_none
from sync.admin.people import PersonNotFound, person_page, search_people
from sync.api.auth import guarded
from sync.api.schemas import PageArgs

blueprint = Blueprint("api_people", __name__, url_prefix="/api/v1",
                      description="People: search, and why each has what they have.")
Json = fields.Raw(allow_none=True)


class SearchArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=200),
                      metadata={"description": "A name, email, userName or employee id (or its start)."})


class PersonRow(Schema):
    key = fields.String(required=True, metadata={"description": "The person's key: employee id, or idp:<SCIM id>."})
    kind = fields.String(required=True, metadata={"enum": ["hr", "idp"]})
    employee_id = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    user_name = fields.String(required=True, allow_none=True)
    lifecycle = fields.String(required=True)
    linked = fields.Boolean(required=True)
    source = fields.String(required=True, allow_none=True)


class SearchPage(Schema):
    query = fields.String(required=True)
    total = fields.Integer(required=True, metadata={"description": "Counted up to 1,000 HR and 1,000 "
                                                   "IdP-only people; see total_exact."})
    total_exact = fields.Boolean(required=True, metadata={"description": "False: at least total match."})
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    people = fields.List(fields.Nested(PersonRow), required=True)


class HistoryArgs(Schema):
    history_limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    history_offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000))


class Field(Schema):
    value = Json
    source = fields.String(required=True, allow_none=True,
                           metadata={"description": "hr, idp, default or given"})


class HistoryEvent(Schema):
    seq = fields.Integer(required=True)
    time = fields.String(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.Dict(required=True)
    outcome = fields.String(required=True)
    run = fields.Integer(required=True, allow_none=True)
    before, after, reason = Json, Json, Json


class History(Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    events = fields.List(fields.Nested(HistoryEvent), required=True)


class PersonPage(Schema):
    key = fields.String(required=True)
    summary = fields.Dict(required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.Nested(Field), required=True,
                          attribute="fields", data_key="fields")
    hr_record = fields.Dict(required=True, allow_none=True)
    idp_user = fields.Dict(required=True, allow_none=True)
    manager = fields.Dict(required=True, allow_none=True)
    direct_reports = fields.Integer(required=True)
    scheduled = fields.List(fields.Dict(), required=True)
    person_events = fields.List(fields.Dict(), required=True,
                                metadata={"description": "The identity store's events, newest first."})
    problems = fields.List(fields.String(), required=True)
    desired = fields.Dict(required=True, allow_none=True,
                          metadata={"description": "The BI account the mapping tables give them."})
    explanation = fields.Dict(required=True, allow_none=True,
                              metadata={"description": "Each group, role and attribute with its rows "
                                        "(file:line) and input values (hr2bi mappings explain)."})
    applied = fields.Dict(required=True, allow_none=True,
                          metadata={"description": "The BI account as hr2bi last applied it."})
    tables_version = fields.String(required=True, allow_none=True)
    history = fields.Nested(History, required=True)


@blueprint.get("/people")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(SearchArgs, location="query", unknown=RAISE)
@blueprint.response(200, SearchPage)
def people(args: dict[str, Any]) -> dict[str, Any]:
    with context.session() as session:
        return search_people(session, args["q"], args["limit"], args["offset"])


@blueprint.get("/people/<path:key>")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(HistoryArgs, location="query", unknown=RAISE)
@blueprint.response(200, PersonPage)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="Nobody has this key.")
def person(args: dict[str, Any], key: str) -> dict[str, Any]:
    with context.session() as session:
        try:
            return person_page(session, key, tables_or_none(context.settings().mappings_dir), args["history_limit"], args["history_offset"])
        except PersonNotFound as exc:
            abort(404, message=str(exc))
