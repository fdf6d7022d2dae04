"""The people pages: a search (``/console/people?q=``, live as you type through htmx) and
one person's page (``/console/people/<key>``): their fields and where each came from, the
BI account they should have and the one they have, why (row by row), and their history."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from sync.admin import context
from sync.admin.access import Role
from sync.admin.mappings import tables_or_none
from sync.admin.people import PersonNotFound, person_page, search_people
from sync.console.blueprint import bp, nav

nav(30, "console.people", "People", Role.VIEWER)
PAGE = 50


def _number(name: str, default: int, most: int) -> int:
    """A paging argument from the query string; anything but a fitting number is the default."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) <= most else default


@bp.get("/people")
def people() -> Any:
    query = request.args.get("q", "")[:200]
    with context.session() as session:
        found = search_people(session, query, PAGE, _number("offset", 0, 10_000_000))
    return render_template("console/people/search.html", found=found, page=PAGE)


@bp.get("/people/<path:key>")
def person(key: str) -> Any:
    with context.session() as session:
        try:
            page = person_page(session, key, tables_or_none(context.settings().mappings_dir),
                               PAGE, _number("history_offset", 0, 10_000_000))
        except PersonNotFound as exc:
            return render_template("console/error.html", title="No such person", message=str(exc)), 404
    return render_template("console/people/person.html", p=page, page=PAGE)
