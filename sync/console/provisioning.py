"""The provisioning log page: SCIM writes and what they caused at the BI platform."""

from __future__ import annotations

from typing import Any

from flask import render_template

from sync.admin import context
from sync.admin.access import Role
from sync.admin.provisioning import (
    INFERRED,
    OPERATIONS,
    RESOURCES,
    ScimLogQuery,
    scim_requests,
)
from sync.api.provisioning import ProvisioningArgs
from sync.console.audit import query_args, shown_filters
from sync.console.blueprint import bp, nav

nav(40, "console.provisioning", "Provisioning log", Role.VIEWER)
FILTERS = ("token", "operation", "resource", "outcome", "since", "until")


@bp.get("/provisioning")
def provisioning() -> Any:
    args, problem = query_args(ProvisioningArgs())
    page: dict[str, Any] = {"requests": [], "next_before": None, "link_note": INFERRED}
    if problem is None:
        query = ScimLogQuery(**{k: args.get(k) for k in (*FILTERS, "before")}, limit=args["limit"])
        with context.session() as session:
            page = scim_requests(session, query)
    return render_template("console/provisioning/log.html", page=page, problem=problem,
                           filters=shown_filters(FILTERS), operations=OPERATIONS,
                           resources=RESOURCES), 400 if problem else 200
