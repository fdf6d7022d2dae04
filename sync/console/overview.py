"""The overview page: the console's home."""

from __future__ import annotations

from typing import Any

from flask import render_template

from sync.admin.access import Role
from sync.console.blueprint import bp, nav

nav(10, "console.overview", "Overview", Role.VIEWER)


@bp.get("/")
def overview() -> Any:
    return render_template("console/overview.html")
