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
from types import MappingProxyType
from typing import Any

from sync.rules.attribute_values import rule_values
from sync.rules.errors import PersonError
from sync.rules.explain import Explanation
from sync.rules.person import Person
from sync.rules.tables import (
    AttributeRule,
    GroupRule,
    LookupTable,
    Role,
    RoleKey,
    RoleRule,
    Tables,
)


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
    in_scope = tables.scope.when.check(values)
    matched = tables.index.matching(values) if in_scope else ()
    groups, roles, attribute_rows = _outcomes(matched)
    attributes = {}
    for name, rules in attribute_rows.items():
        value = attribute_value(rules, values, tables.lookups)
        if value is not None:
            attributes[name] = value
    # Read-only views: a DesiredAccount is a value the planner compares, never edits.
    account = DesiredAccount(values.get("employee_id"), user_name, display_name(values), in_scope,
                             groups, MappingProxyType(attributes), MappingProxyType(roles), tables.version)
    return account, Explanation(person, tables, in_scope, matched, roles, attributes)


def _outcomes(matched: tuple[Any, ...]) -> tuple[frozenset[str], dict[RoleKey, Role],
                                                  dict[str, list[AttributeRule]]]:
    """Groups, winning roles and attribute rows in one pass, building no per-row objects
    (the explanation regroups ``matched`` only when someone asks for it)."""
    groups: set[str] = set()
    roles: dict[RoleKey, Role] = {}
    attribute_rows: dict[str, list[AttributeRule]] = {}
    for rule in matched:
        kind = type(rule)
        if kind is GroupRule:
            groups.add(rule.group)
        elif kind is RoleRule:
            key = (rule.connection, rule.model)
            if key not in roles or rule.role > roles[key]:
                roles[key] = rule.role
        else:
            attribute_rows.setdefault(rule.attribute, []).append(rule)
    return frozenset(groups), without_covered_roles(roles), attribute_rows


def without_covered_roles(roles: dict[RoleKey, Role]) -> dict[RoleKey, Role]:
    """Model roles on a connection where the person is CONNECTION_ADMIN are covered by it."""
    admin = [connection for connection, model in roles if model is None]
    if not admin:
        return roles
    return {key: role for key, role in roles.items() if key[1] is None or key[0] not in admin}


def display_name(values: Mapping[str, Any]) -> str:
    """The display name field, else given and family name, else the user name."""
    if values.get("display_name"):
        return str(values["display_name"])
    parts = [str(values[n]) for n in ("given_name", "family_name") if values.get(n)]
    return " ".join(parts) or str(values["user_name"])


def attribute_value(rules: list[AttributeRule], values: Mapping[str, Any],
                    lookups: Mapping[str, LookupTable]) -> str | tuple[str, ...] | None:
    """All values of all rows if multi-valued; else the first row's first value."""
    if rules[0].multi:
        found = tuple(dict.fromkeys(v for rule in rules for v in rule_values(rule, values, lookups)))
        return found or None
    for rule in rules:
        found = rule_values(rule, values, lookups)
        if found:
            return found[0]
    return None
