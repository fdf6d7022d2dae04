"""Provision on demand: one person now (or a dry run), step by step (``sync.admin.provision``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from sync.admin import context
from sync.admin import provision as admin
from sync.admin.access import Role
from sync.console.auth import actor, requires
from sync.console.blueprint import bp, nav
from sync.errors import UserError
from sync.people.views import PersonNotFound

nav(45, "console.provision_page", "Provision", Role.APPROVER)


@bp.get("/provision")
@requires(Role.APPROVER)
def provision_page() -> Any:
    return render_template("console/provision/form.html", person=request.args.get("person", "")[:320],
                           dry_run=True, report=None, error=None)


@bp.post("/provision")
@requires(Role.APPROVER)
def provision_now() -> Any:
    person = request.form.get("person", "").strip()[:320]
    dry_run = request.form.get("dry_run") in ("1", "on", "true", "yes")
    values: dict[str, Any] = {"person": person, "dry_run": dry_run, "report": None, "error": None}
    if not person:
        values["error"] = "Name the person: an employee id, an email, a userName or a SCIM id."
        return render_template("console/provision/form.html", **values), 400
    try:
        values["report"] = admin.provision(context.engine(), context.settings(), person, actor(), dry_run=dry_run)
    except PersonNotFound as exc:
        values["error"] = str(exc)
        return render_template("console/provision/form.html", **values), 404
    except UserError as exc:
        values["error"] = str(exc)
        return render_template("console/provision/form.html", **values), 409
    return render_template("console/provision/form.html", **values)
