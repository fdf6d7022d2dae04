"""Every connection and model ``roles.csv`` names must exist in the BI platform, checked
when a plan gives or changes a role (before it is saved): a row naming one that does not
is an error that names the row (``roles.csv:12``), never a role sent with a guessed id. A
plan without role changes spends no calls on it (a plan with nothing to do costs nothing)."""

from __future__ import annotations

from sync.errors import UserError
from sync.plan.values import Plan
from sync.rules import Tables
from sync.targets import Target


class UnknownRoleTarget(UserError):
    """A ``roles.csv`` row names a connection or model the BI platform does not have."""


def missing_role_targets(tables: Tables, target: Target) -> dict[tuple[str, str | None], list[str]]:
    """(connection, None) for a connection the platform lacks, (connection, model) for a
    model it lacks on a connection it has -> the ``roles.csv`` rows naming it."""
    if not target.capabilities.roles or not tables.roles:
        return {}
    connections = {c.name for c in target.connections()}
    models: dict[str, set[str]] = {}
    for model in target.models():
        models.setdefault(model.connection, set()).add(model.name)
    missing: dict[tuple[str, str | None], list[str]] = {}
    for rule in tables.roles:
        if rule.connection not in connections:
            missing.setdefault((rule.connection, None), []).append(str(rule.row))
        elif rule.model is not None and rule.model not in models.get(rule.connection, set()):
            missing.setdefault((rule.connection, rule.model), []).append(str(rule.row))
    return missing


def role_target_problems(tables: Tables, target: Target) -> list[str]:
    """One line per ``roles.csv`` row whose connection or model the platform lacks."""
    if not target.capabilities.roles or not tables.roles:
        return []
    connections = {c.name for c in target.connections()}
    models: dict[str, set[str]] = {}
    for model in target.models():
        models.setdefault(model.connection, set()).add(model.name)
    problems = []
    for rule in tables.roles:
        if rule.connection not in connections:
            problems.append(f"{rule.row}: the BI platform has no connection {rule.connection!r} "
                            f"(it has: {', '.join(sorted(connections)) or 'none'}); fix the row "
                            "or the connection's name in Omni")
        elif rule.model is not None and rule.model not in models.get(rule.connection, set()):
            known = ", ".join(sorted(models.get(rule.connection, set()))) or "none"
            problems.append(f"{rule.row}: the BI platform has no model {rule.model!r} on connection "
                            f"{rule.connection!r} (it has: {known}); fix the row or the model's "
                            "name in Omni (HR2BI_BI_MODELS_FILE, if set, overrides Omni's list)")
    return problems


ROLE_CHANGES = ("user.role", "group.role")


def require_role_targets(tables: Tables, target: Target, plan: Plan | None = None) -> None:
    """Raise :class:`UnknownRoleTarget` naming the first bad row; with ``plan``, only if it
    changes some role."""
    if plan is not None and not any(c.kind in ROLE_CHANGES for c in plan.changes):
        return
    problems = role_target_problems(tables, target)
    if problems:
        more = f" (and {len(problems) - 1} more: `hr2bi doctor` lists them)" if len(problems) > 1 else ""
        raise UnknownRoleTarget(problems[0] + more)
