"""``GET /api/v1/mappings`` (the tables version in force and the golden cases' status) and
``POST /api/v1/mappings/impact`` (who would gain or lose what if some table files changed;
audited with the caller as actor). Proposed tables that do not load are a 200 report whose
``table_problems`` say ``file:line`` what is wrong: the request was fine, the tables not."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin.access import Role
from sync.admin.mappings import impact_preview, mappings_status
from sync.api.auth import actor, guarded

blueprint = Blueprint("api_mappings", __name__, url_prefix="/api/v1",
                      description="The mapping tables: version, golden cases, impact of a change.")


class CaseResult(Schema):
    name = fields.String(required=True)
    line = fields.Integer(required=True)
    where = fields.String(required=True, metadata={"description": "cases.yaml:LINE"})
    passed = fields.Boolean(required=True)
    differences = fields.List(fields.String(), required=True)


class MappingsStatus(Schema):
    directory = fields.String(required=True)
    version = fields.String(required=True, allow_none=True, metadata={"description": "sha256:<hex>"})
    short_version = fields.String(required=True, allow_none=True)
    files = fields.List(fields.String(), required=True)
    problems = fields.List(fields.String(), required=True,
                           metadata={"description": "file:line problems when the tables do not load."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, allow_none=True)
    cases = fields.List(fields.Nested(CaseResult), required=True)
    case_problems = fields.List(fields.String(), required=True)
    cases_passed = fields.Integer(required=True)
    cases_failed = fields.Integer(required=True)


class ImpactRequest(Schema):
    # Which paths and how many are checked by sync.admin.mappings (answered as table_problems):
    # a dict's key and size rules do not reach the OpenAPI document.
    files = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=5_000_000)),
                        required=True,
                        metadata={"description": "Changed table files: path (groups.csv, "
                                  "lookups/departments.csv...) -> its full new text."})


class ImpactChange(Schema):
    kind = fields.String(required=True, metadata={"enum": ["active", "group", "role", "attribute"]})
    name = fields.String(required=True)
    before = fields.String(required=True, allow_none=True)
    after = fields.String(required=True, allow_none=True)


class PersonImpact(Schema):
    person = fields.String(required=True)
    error = fields.String(required=True, allow_none=True)
    changes = fields.List(fields.Nested(ImpactChange), required=True)


class ImpactReport(Schema):
    from_version = fields.String(required=True, allow_none=True)
    to_version = fields.String(required=True, allow_none=True)
    files = fields.List(fields.String(), required=True)
    people_evaluated = fields.Integer(required=True)
    people_changed = fields.Integer(required=True)
    people_failed = fields.Integer(required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "More people change than listed."})
    problems = fields.List(fields.String(), required=True,
                           metadata={"description": "People who could not be read as persons."})
    table_problems = fields.List(fields.String(), required=True,
                                 metadata={"description": "file:line problems: the proposed tables do "
                                           "not load, and nobody was evaluated."})
    people = fields.List(fields.Nested(PersonImpact), required=True)


@blueprint.get("/mappings")
@guarded(blueprint, Role.VIEWER)
@blueprint.response(200, MappingsStatus)
def mappings() -> dict[str, Any]:
    return mappings_status(context.settings().mappings_dir)


@blueprint.post("/mappings/impact")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(ImpactRequest)
@blueprint.response(200, ImpactReport)
def impact(body: dict[str, Any]) -> dict[str, Any]:
    changed = {path: text.encode("utf-8", "surrogatepass") for path, text in body["files"].items()}
    with context.session() as session:
        return impact_preview(session, context.settings().mappings_dir, changed, actor=actor())
