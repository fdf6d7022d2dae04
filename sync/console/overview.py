"""The overview page, the console's home (``sync.admin.overview``): its health checks load
after the page (htmx), so a BI platform or broker that does not answer never holds it up."""

from __future__ import annotations

from typing import Any

from flask import render_template

from sync.admin import context
from sync.admin import overview as admin
from sync.admin.access import Role
from sync.console.blueprint import bp, nav

nav(10, "console.overview", "Overview", Role.VIEWER)


@bp.get("/")
def overview() -> Any:
    with context.session() as session:
        found = admin.summary(session, context.settings())
    return render_template("console/overview.html", **found)


@bp.get("/overview/health")
def overview_health() -> Any:
    return render_template("console/overview/health.html",
                           health=admin.health(context.engine(), context.settings()))
