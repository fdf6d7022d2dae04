"""The mappings page (``/console/mappings``): the tables version in force, the golden
cases' status, and an impact preview of a proposed change (POST ``/console/mappings/impact``:
upload the changed table files, or paste one), audited with the signed-in person."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from sync.admin import context
from sync.admin.access import Role
from sync.admin.mappings import (
    MAX_FILE_BYTES,
    impact_preview,
    mappings_status,
)
from sync.console.auth import actor
from sync.console.blueprint import bp, nav

nav(60, "console.mappings", "Mappings", Role.VIEWER)


@bp.get("/mappings")
def mappings() -> Any:
    return _page()


def _page(**extra: Any) -> Any:
    status = mappings_status(context.settings().mappings_dir)
    return render_template("console/mappings/mappings.html", status=status, **extra)


def _changed_files() -> dict[str, bytes]:
    """The proposed files: uploads (named by their file name, or lookups/NAME.csv) and the
    pasted text under the path typed next to it."""
    changed: dict[str, bytes] = {}
    for upload in request.files.getlist("files"):
        if upload.filename:
            name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
            folder = "lookups/" if request.form.get(f"lookup:{name}") or name not in (
                "fields.yaml", "scope.yaml", "groups.csv", "roles.csv", "attributes.csv") else ""
            changed[folder + name] = upload.read(MAX_FILE_BYTES + 1)
    path, text = request.form.get("path", "").strip(), request.form.get("text", "")
    if path and text.strip():
        changed[path] = text.replace("\r\n", "\n").encode("utf-8", "surrogatepass")
    return changed


@bp.post("/mappings/impact")
def mappings_impact() -> Any:
    changed = _changed_files()
    if not changed:
        return _page(problems=["upload the changed table file(s), or paste one and name its path"]), 400
    with context.session() as session:
        report = impact_preview(session, context.settings().mappings_dir, changed, actor=actor())
    if report["table_problems"]:
        return _page(problems=report["table_problems"]), 422
    return _page(report=report)
