"""Why a person gets each group, role and attribute: rows (file:line) and the values they read.

``evaluate`` records only which rules matched (cheap enough for 100,000 people); the reasons
below are derived from that on demand, with the person's values that each condition read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.rules.attribute_values import rule_sources
from sync.rules.conditions import Condition
from sync.rules.person import Person
from sync.rules.tables import (
    AttributeRule,
    GroupRule,
    Role,
    RoleKey,
    RoleRule,
    RowRef,
    Tables,
    role_key_text,
)
from sync.rules.values import as_text


@dataclass(frozen=True)
class Match:
    """A row whose condition held, and the person's values its condition read."""

    row: RowRef
    condition: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class GroupReason:
    group: str
    rows: tuple[Match, ...]


@dataclass(frozen=True)
class LostRole:
    match: Match
    role: Role
    beaten_by: RowRef


@dataclass(frozen=True)
class RoleReason:
    """``role`` is None when a CONNECTION_ADMIN on the connection made the model role moot."""

    key: RoleKey
    role: Role | None
    rows: tuple[Match, ...]
    lost: tuple[LostRole, ...]


@dataclass(frozen=True)
class AttributeReason:
    """``rows``: the rows that gave the value; ``unused``: rows that matched but gave nothing
    (empty field, key missing from the lookup) or lost to an earlier row (single-valued).
    ``value`` is None when rows matched but none gave a value: the attribute is not set."""

    attribute: str
    value: str | tuple[str, ...] | None
    rows: tuple[tuple[Match, tuple[tuple[str, str], ...]], ...]
    unused: tuple[tuple[Match, str], ...]


@dataclass(frozen=True)
class Explanation:
    """What ``evaluate`` decided from which rows; the reasons are derived on demand."""

    person: Person
    tables: Tables = field(repr=False)
    in_scope: bool
    matched: tuple[Any, ...]
    resolved_roles: Mapping[RoleKey, Role]
    resolved_attributes: Mapping[str, str | tuple[str, ...]]

    @property
    def tables_version(self) -> str:
        return self.tables.version

    @property
    def group_rows(self) -> dict[str, list[GroupRule]]:
        return _by(self.matched, GroupRule, lambda rule: rule.group)

    @property
    def role_rows(self) -> dict[RoleKey, list[RoleRule]]:
        return _by(self.matched, RoleRule, lambda rule: rule.key)

    @property
    def attribute_rows(self) -> dict[str, list[AttributeRule]]:
        return _by(self.matched, AttributeRule, lambda rule: rule.attribute)

    def match(self, row: RowRef, condition: Condition) -> Match:
        inputs = {name: self.person.fields.get(name) for name in condition.fields}
        return Match(row, condition.text, inputs)

    @property
    def scope_match(self) -> Match:
        return self.match(self.tables.scope.row, self.tables.scope.when)

    @property
    def groups(self) -> tuple[GroupReason, ...]:
        return tuple(GroupReason(group, tuple(self.match(r.row, r.when) for r in rules))
                     for group, rules in sorted(self.group_rows.items()))

    @property
    def roles(self) -> tuple[RoleReason, ...]:
        role_rows = self.role_rows
        return tuple(self._role_reason(key, rules, role_rows) for key, rules in
                     sorted(role_rows.items(), key=lambda item: role_key_text(item[0])))

    def _role_reason(self, key: RoleKey, rules: list[RoleRule],
                     role_rows: Mapping[RoleKey, list[RoleRule]]) -> RoleReason:
        role = self.resolved_roles.get(key)
        if role is None:  # a connection admin elsewhere on this connection outranks it
            admin = role_rows[(key[0], None)]
            best = next(r for r in admin if r.role is Role.CONNECTION_ADMIN)
            lost = tuple(LostRole(self.match(r.row, r.when), r.role, best.row) for r in rules)
            return RoleReason(key, None, (), lost)
        winners = [r for r in rules if r.role is role]
        lost = tuple(LostRole(self.match(r.row, r.when), r.role, winners[0].row) for r in rules if r.role is not role)
        return RoleReason(key, role, tuple(self.match(r.row, r.when) for r in winners), lost)

    @property
    def attributes(self) -> tuple[AttributeReason, ...]:
        return tuple(self._attribute_reason(name, rules) for name, rules in sorted(self.attribute_rows.items()))

    def _attribute_reason(self, name: str, rules: list[AttributeRule]) -> AttributeReason:
        used: list[tuple[Match, tuple[tuple[str, str], ...]]] = []
        unused: list[tuple[Match, str]] = []
        for rule in rules:
            match = self.match(rule.row, rule.when)
            sources = rule_sources(rule, self.person.fields, self.tables.lookups)
            if not sources:
                unused.append((match, _why_empty(rule, self.person.fields.get(rule.key_field or rule.value),
                                                 self.tables)))
            elif rule.multi or not used:
                used.append((match, sources))
            else:
                unused.append((match, f"{name} is single-valued and {used[0][0].row} came first"))
        return AttributeReason(name, self.resolved_attributes.get(name), tuple(used), tuple(unused))


def _by(matched: tuple[Any, ...], kind: type, key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    """The matching rules of one kind, by what they decide, in table order."""
    found: dict[Any, list[Any]] = {}
    for rule in matched:
        if type(rule) is kind:
            found.setdefault(key(rule), []).append(rule)
    return found


def _why_empty(rule: AttributeRule, value: Any, tables: Tables) -> str:
    field_name = rule.key_field or rule.value
    if value is None or value == ():
        return f"the person's {field_name} is empty"
    shown = ", ".join(repr(as_text(v)) for v in (value if isinstance(value, tuple) else (value,)))
    return f"{field_name} {shown} is not in {tables.lookups[rule.value].file} (and it has no * row)"


def explanation_to_dict(explanation: Explanation) -> dict[str, Any]:
    """A JSON-ready form of the explanation (``hr2bi mappings explain --json``)."""
    scope = explanation.scope_match
    return {
        "person": explanation.person.label(),
        "fields": {name: {"value": _json_value(value), "source": explanation.person.sources.get(name)}
                   for name, value in explanation.person.fields.items() if value is not None and value != ()},
        "tables_version": explanation.tables_version,
        "scope": {"in_scope": explanation.in_scope, **_match_dict(scope)},
        "groups": [{"group": g.group, "rows": [_match_dict(m) for m in g.rows]} for g in explanation.groups],
        "roles": [_role_dict(r) for r in explanation.roles],
        "attributes": [_attribute_dict(a) for a in explanation.attributes],
    }


def _match_dict(match: Match) -> dict[str, Any]:
    return {"row": str(match.row), "when": match.condition,
            "inputs": {k: _json_value(v) for k, v in match.inputs.items()}}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [as_text(v) for v in value]
    return None if value is None else value if isinstance(value, bool | int) else as_text(value)


def _role_dict(reason: RoleReason) -> dict[str, Any]:
    return {"connection_model": role_key_text(reason.key),
            "role": reason.role.name if reason.role is not None else None,
            "rows": [_match_dict(m) for m in reason.rows],
            "lost": [{**_match_dict(l.match), "role": l.role.name, "beaten_by": str(l.beaten_by)}
                     for l in reason.lost]}


def _attribute_dict(reason: AttributeReason) -> dict[str, Any]:
    value = list(reason.value) if isinstance(reason.value, tuple) else reason.value
    return {"attribute": reason.attribute, "value": value,
            "rows": [{**_match_dict(m), "values": [{"value": v, "from": o} for v, o in vals]}
                     for m, vals in reason.rows],
            "unused": [{**_match_dict(m), "why": why} for m, why in reason.unused]}
