"""``evaluate(person, tables)``: the BI account a person should have, and why. Pure.

Roles: per (connection, model) the highest role on Omni's ladder wins; a CONNECTION_ADMIN on
a connection outranks every model role on that connection, which is then left out (Omni's
connection admin already has full rights on all its models).
Attributes: a multi-valued attribute collects the values of all its matching rows; a
single-valued one takes the first matching row, in file order, that yields a value, so a
``*`` default row goes last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.rules.errors import PersonError
from sync.rules.explain import AttributeSource, Explanation
from sync.rules.person import Person
from sync.rules.tables import AttributeRule, GroupRule, LookupTable, Role, RoleKey, RoleRule, Tables
from sync.rules.values import as_text


@dataclass(frozen=True)
class DesiredAccount:
    """What the BI platform should hold for one person under one tables version."""

    employee_id: str | None
    user_name: str
    display_name: str
    active: bool
    groups: frozenset[str]
    attributes: Mapping[str, str | tuple[str, ...]]
    roles: Mapping[RoleKey, Role]
    tables_version: str


def evaluate(person: Person, tables: Tables) -> tuple[DesiredAccount, Explanation]:
    values = person.fields
    user_name = values.get("user_name")
    if not user_name:
        raise PersonError("user_name", user_name, "every BI account needs a user name")
    in_scope = tables.scope.when.test(values)
    matched = tables.index.matching(values) if in_scope else []
    group_rows: dict[str, list[GroupRule]] = {}
    role_rows: dict[RoleKey, list[RoleRule]] = {}
    attribute_rows: dict[str, list[AttributeRule]] = {}
    for rule in matched:
        if type(rule) is GroupRule:
            group_rows.setdefault(rule.group, []).append(rule)
        elif type(rule) is RoleRule:
            role_rows.setdefault(rule.key, []).append(rule)
        else:
            attribute_rows.setdefault(rule.attribute, []).append(rule)
    roles = resolve_roles(role_rows)
    sources = {name: _attribute_sources(rules, values, tables.lookups) for name, rules in attribute_rows.items()}
    attributes = {name: value for name, value in
                  ((name, attribute_value(rules[0].multi, sources[name])) for name, rules in attribute_rows.items())
                  if value is not None}
    account = DesiredAccount(values.get("employee_id"), user_name, display_name(values), in_scope,
                             frozenset(group_rows), attributes, roles, tables.version)
    explanation = Explanation(person, tables.version, tables.scope, in_scope, group_rows, role_rows,
                              roles, sources, attributes)
    return account, explanation


def display_name(values: Mapping[str, Any]) -> str:
    """The display name field, else given and family name, else the user name."""
    if values.get("display_name"):
        return str(values["display_name"])
    parts = [str(values[n]) for n in ("given_name", "family_name") if values.get(n)]
    return " ".join(parts) or str(values["user_name"])


def resolve_roles(role_rows: Mapping[RoleKey, list[RoleRule]]) -> dict[RoleKey, Role]:
    admin = {conn for (conn, model), rules in role_rows.items()
             if model is None and any(r.role is Role.CONNECTION_ADMIN for r in rules)}
    return {key: max(r.role for r in rules) for key, rules in role_rows.items()
            if key[1] is None or key[0] not in admin}


def _attribute_sources(rules: list[AttributeRule], values: Mapping[str, Any],
                       lookups: Mapping[str, LookupTable]) -> tuple[AttributeSource, ...]:
    return tuple(AttributeSource(rule, _rule_values(rule, values, lookups)) for rule in rules)


def _rule_values(rule: AttributeRule, values: Mapping[str, Any],
                 lookups: Mapping[str, LookupTable]) -> tuple[tuple[str, str], ...]:
    """(value, where it came from) pairs this row yields for this person; empty if none."""
    if rule.source == "constant":
        return ((rule.value, "constant"),)
    field = rule.key_field if rule.source == "lookup" else rule.value
    raw = values.get(field)
    items = raw if isinstance(raw, tuple) else () if raw is None else (raw,)
    if rule.source == "field":
        return tuple((as_text(v), f"field {field}") for v in items)
    table = lookups[rule.value]
    return tuple((entry.value, f"{entry.row} ({field} {as_text(v)!r})")
                 for v in items for entry in table.get(as_text(v)))


def attribute_value(multi: bool, sources: tuple[AttributeSource, ...]) -> str | tuple[str, ...] | None:
    if multi:
        found = tuple(dict.fromkeys(value for s in sources for value, _ in s.values))
        return found or None
    for source in sources:
        if source.values:
            return source.values[0][0]
    return None
