"""The console's one blueprint (``/console``): every page module adds its views to it.

Everything behind it is for signed-in people only: a request without a live session gets
the sign-in page (``auth.py`` enforces it before any view runs, as it does the idle
timeout and the CSRF token of every form).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# The navigation bar: (order, endpoint, label, role needed), added by each area's module.
NAV: list[tuple[int, str, str, object]] = []


def nav(order: int, endpoint: str, label: str, role: object) -> None:
    """Put an area's main page in the navigation bar (shown to people with ``role``)."""
    if not any(item[1] == endpoint for item in NAV):
        NAV.append((order, endpoint, label, role))
        NAV.sort(key=lambda item: item[0])
