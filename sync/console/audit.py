"""The audit pages: search the trail, download an export bundle, the checkpoint history.

Query strings are read with the admin API's schemas (one definition of what a filter may
be); a download is an ``audit.export`` event of the signed-in person.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from marshmallow import Schema, ValidationError

from sync.admin import context
from sync.admin.access import Role
from sync.admin.audit import checkpoint_history, export_bundle, search_events
from sync.api.audit import CheckpointArgs, EventArgs, TimeArgs, event_query
from sync.audit.api import ApiError
from sync.console import auth
from sync.console.blueprint import bp, nav

nav(50, "console.audit", "Audit", Role.VIEWER)


def query_args(schema: Schema) -> tuple[dict[str, Any], str | None]:
    """The query string through ``schema``, empty fields left out (a form sends them all);
    the values, or an error message fit to show."""
    given = {k: v.strip() for k, v in request.args.items() if v.strip()}
    try:
        return schema.load(given), None
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {' '.join(map(str, why))}" for name, why in
                             sorted(exc.normalized_messages().items()))
        return {}, f"Check the filters: {problems}"


def shown_filters(names: tuple[str, ...]) -> dict[str, str]:
    """The filters given, to fill the form in again and carry to the next page."""
    return {name: request.args[name].strip() for name in names if request.args.get(name, "").strip()}


@bp.get("/audit")
def audit() -> Any:
    args, problem = query_args(EventArgs())
    page = {"events": [], "next_before": None}
    if problem is None:
        with context.session() as session:
            page = search_events(session, event_query(args))
    filters = shown_filters(("actor", "target", "action", "since", "until"))
    return render_template("console/audit/events.html", page=page, problem=problem,
                           filters=filters), 400 if problem else 200


@bp.get("/audit/bundle")
def audit_bundle() -> Any:
    args, problem = query_args(TimeArgs())
    if problem is None:
        try:
            return export_bundle(context.engine(), context.settings(), auth.actor(),
                                 args.get("since"), args.get("until")).response()
        except ApiError as refused:
            return render_template("console/error.html", title="No export bundle",
                                   message=refused.message), refused.status
    return render_template("console/error.html", title="No export bundle", message=problem), 400


@bp.get("/audit/checkpoints")
def audit_checkpoints() -> Any:
    args, problem = query_args(CheckpointArgs())
    with context.session() as session:
        history = checkpoint_history(session, context.settings(), args.get("limit", 20))
    return render_template("console/audit/checkpoints.html", history=history, problem=problem)
