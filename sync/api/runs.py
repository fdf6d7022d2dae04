"""``/api/v1/runs``: the runs, one run and its plan's changes, approving and rejecting a held
run (``sync.admin.runs``; the four-eyes rule and who caused a run are explained there)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from sync.admin import context
from sync.admin import runs as admin
from sync.admin.access import Role
from sync.api.auth import actor, guarded
from sync.api.schemas import PageArgs
from sync.errors import UserError

blueprint = Blueprint("api_runs", __name__, url_prefix="/api/v1",
                      description="Imports and plans; a held one reviewed, approved or rejected.")
# Any integer, so a negative or huge one gets this API's JSON 404 rather than a routing error.
RUN = "/runs/<int(signed=True):run_id>"


def _text(**kw: Any) -> fields.String:
    return fields.String(allow_none=True, **kw)


class RunSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    source = _text()
    mode = _text()
    status = fields.String(required=True)
    reason = _text()
    counts = fields.Dict(required=True)
    started_at = _text()
    finished_at = _text()
    approved_by = _text()
    approved_at = _text()
    caused_by = fields.String(metadata={"description": "Who caused the run (the four-eyes rule)."})


class Paged(Schema):
    """One page of a longer list: how many there are in all, and which ones these are."""

    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class RunPage(Paged):
    runs = fields.List(fields.Nested(RunSchema), required=True)


class DecidedRun(RunSchema):
    details = fields.Dict(required=True)


class RunDetail(DecidedRun):
    changes_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    held = fields.Boolean()


class ChangeSchema(Schema):
    kind = fields.String(required=True)
    subject = fields.String(required=True)
    person = _text()
    change = fields.String(required=True, metadata={"description": "What changes, in words."})
    status = fields.String(required=True)
    last_error = _text()
    rows = fields.List(fields.String(), required=True, metadata={"description": "The mapping rows why."})
    note = _text()
    before = fields.Dict(allow_none=True)
    payload = fields.Dict(required=True)


class ChangePage(Paged):
    run = fields.Integer(required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class ApplySchema(Schema):
    run_id = fields.Integer(required=True)
    applied = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    quarantined = fields.Integer(required=True)
    held = fields.Boolean(required=True)
    bi_calls = fields.Integer(required=True)
    error = _text()
    superseded = _text()
    rejected = _text()


class DecisionSchema(Schema):
    run = fields.Nested(DecidedRun, required=True)
    apply = fields.Nested(ApplySchema, allow_none=True, metadata={"description": "A plan's apply."})


class RunArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(admin.KINDS))
    status = fields.String(validate=validate.OneOf(admin.STATUSES))


class ChangeArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Text in the subject, "
                      "person or change."})
    kind = fields.List(fields.String(validate=validate.OneOf(admin.KIND_FILTERS)), load_default=list,
                       metadata={"description": "Change kinds, or a prefix for all its kinds (user, "
                                 "group); repeat it for several."})


# Some text that is not only blanks (a pattern, so the OpenAPI document says it too). The
# blanks are spelt out: Python's \s and ECMAScript's (JSON Schema's) differ (U+0085).
NOT_BLANK = validate.Regexp(r"[\s\S]*[^ \t\n\r\f\v]", error="must not be blank")


class ApproveBody(Schema):
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class RejectBody(Schema):
    comment = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NOT_BLANK])


@blueprint.get("/runs")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(RunArgs, location="query")
@blueprint.response(200, RunPage)
def runs(args: dict[str, Any]) -> dict[str, Any]:
    with context.session() as session:
        return admin.runs_page(session, args.get("kind"), args.get("status"), args["limit"], args["offset"])


@blueprint.get(RUN)
@guarded(blueprint, Role.VIEWER)
@blueprint.response(200, RunDetail)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No such run.")
def run(run_id: int) -> dict[str, Any]:
    with context.session() as session:
        _exists(session, run_id)
        return admin.run_detail(session, run_id)


@blueprint.get(f"{RUN}/changes")
@guarded(blueprint, Role.VIEWER)
@blueprint.arguments(ChangeArgs, location="query")
@blueprint.response(200, ChangePage)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No such run.")
def changes(args: dict[str, Any], run_id: int) -> dict[str, Any]:
    with context.session() as session:
        _exists(session, run_id)
        return admin.run_changes(session, run_id, args.get("q"), args["kind"], args["limit"], args["offset"])


@blueprint.post(f"{RUN}/approve")
@guarded(blueprint, Role.APPROVER)
@blueprint.arguments(ApproveBody, required=False)
@blueprint.response(200, DecisionSchema)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No such run.")
@blueprint.alt_response(409, response="DEFAULT_ERROR", description="Not held, or the four-eyes rule refused it.")
def approve(body: dict[str, Any], run_id: int) -> dict[str, Any]:
    _found(run_id)
    try:
        return admin.approve(context.engine(), context.settings(), run_id, actor(), (body or {}).get("comment"))
    except UserError as exc:
        abort(409, message=str(exc))


@blueprint.post(f"{RUN}/reject")
@guarded(blueprint, Role.APPROVER)
@blueprint.arguments(RejectBody)
@blueprint.response(200, DecisionSchema)
@blueprint.alt_response(404, response="DEFAULT_ERROR", description="No such run.")
@blueprint.alt_response(409, response="DEFAULT_ERROR", description="The run is not held.")
def reject(body: dict[str, Any], run_id: int) -> dict[str, Any]:
    _found(run_id)
    try:
        return admin.reject(context.engine(), run_id, actor(), body["comment"])
    except UserError as exc:
        abort(409, message=str(exc))


def _exists(session: Any, run_id: int) -> None:
    if admin.find_run(session, run_id) is None:
        abort(404, message=f"there is no run {run_id}")


def _found(run_id: int) -> None:
    with context.session() as session:
        _exists(session, run_id)
