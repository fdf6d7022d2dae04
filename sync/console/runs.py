"""The runs pages: the list (by kind and status), one run with its plan's changes
(searchable, by kind, paged; the search box answers through htmx), and approving or
rejecting a held run (``sync.admin.runs``: the four-eyes rule is explained there)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from sync.admin import context
from sync.admin import runs as admin
from sync.admin.access import Role
from sync.console.auth import actor, requires
from sync.console.blueprint import bp, nav
from sync.errors import UserError
from sync.plan.review import UnknownKind
from sync.plan.values import KINDS as CHANGE_KINDS

nav(20, "console.runs_page", "Runs", Role.VIEWER)
PAGE = 50  # runs or changes per page
MAX_OFFSET = 10_000_000


def _offset() -> int:
    value = request.args.get("offset", "0")
    return min(int(value), MAX_OFFSET) if value.isdigit() else 0


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value if value in allowed else None


@bp.get("/runs")
def runs_page() -> Any:
    kind, status = _choice("kind", admin.KINDS), _choice("status", admin.STATUSES)
    with context.session() as session:
        page = admin.runs_page(session, kind, status, PAGE, _offset())
    return render_template("console/runs/list.html", page=page, kind=kind, status=status,
                           kinds=admin.KINDS, statuses=admin.STATUSES)


@bp.get("/runs/<int:run_id>")
def run_page(run_id: int) -> Any:
    return _run_view(run_id)


def _run_view(run_id: int, error: str | None = None, status: int = 200) -> Any:
    q, kind = (request.args.get("q") or "")[:200], (request.args.get("kind") or "")[:200]
    with context.session() as session:
        if admin.find_run(session, run_id) is None:
            return render_template("console/error.html", title="Not found",
                                   message=f"There is no run {run_id}."), 404
        run = admin.run_detail(session, run_id)
        try:
            changes = admin.run_changes(session, run_id, q, [kind], PAGE, _offset())
        except UnknownKind as exc:
            changes, error, status = None, str(exc), 400
    values = {"run": run, "changes": changes, "q": q, "kind": kind, "change_kinds": tuple(CHANGE_KINDS),
              "decide": admin.can_decide(run, context.settings(), actor()), "error": error}
    if request.headers.get("HX-Request") and request.method == "GET":
        return render_template("console/runs/_changes.html", **values), status
    return render_template("console/runs/detail.html", **values), status


@bp.post("/runs/<int:run_id>/approve")
@requires(Role.APPROVER)
def approve_run(run_id: int) -> Any:
    comment = request.form.get("comment", "")[:2000]
    try:
        done = admin.approve(context.engine(), context.settings(), run_id, actor(), comment)
    except UserError as exc:
        return _run_view(run_id, str(exc), 409)
    flash(_approved(run_id, done["apply"]))
    return redirect(url_for("console.run_page", run_id=run_id))


@bp.post("/runs/<int:run_id>/reject")
@requires(Role.APPROVER)
def reject_run(run_id: int) -> Any:
    comment = request.form.get("comment", "")[:2000]
    if not comment.strip():
        return _run_view(run_id, "Say why you reject it: the comment is required.", 400)
    try:
        done = admin.reject(context.engine(), run_id, actor(), comment)
    except UserError as exc:
        return _run_view(run_id, str(exc), 409)
    discarded = done["run"]["details"].get("rejected", {}).get("discarded", 0)
    flash(f"Run {run_id} rejected: nothing of it will be applied ({discarded} discarded).")
    return redirect(url_for("console.run_page", run_id=run_id))


def _approved(run_id: int, applied: dict[str, Any] | None) -> str:
    if applied is None:  # an import: merged as it was held
        return f"Run {run_id} approved: the held import was merged."
    text = (f"Run {run_id} approved and applied: {applied['applied']} applied, {applied['failed']} failed, "
            f"{applied['quarantined']} quarantined, {applied['bi_calls']} BI calls.")
    return text + (f" It stopped early: {applied['error']}" if applied.get("error") else "")
