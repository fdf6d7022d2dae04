"""Plain-text reports for people reading a terminal: an account and its reasons, an impact list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sync.rules.evaluate import DesiredAccount
from sync.rules.explain import Explanation, Match
from sync.rules.impact import PersonImpact
from sync.rules.tables import role_key_text
from sync.rules.values import as_text
from sync.rules.version import short_version


def render_explanation(account: DesiredAccount, explanation: Explanation) -> str:
    scope = explanation.scope_match
    lines = [
        f"{account.display_name} <{account.user_name}>  employee {account.employee_id or '?'}",
        f"tables version {short_version(account.tables_version)}",
        f"active: {str(account.active).lower()}  ({'in' if account.active else 'OUT OF'} scope: {_match(scope)})",
        "person (value, and where it came from):",
    ]
    person = explanation.person
    lines += [f"  {name} = {_value(value)}  ({person.sources.get(name, '?')})"
              for name, value in person.fields.items() if value is not None and value != ()]
    if not account.active:
        return "\n".join([*lines, "out of scope: no groups, roles or attributes"])
    return "\n".join([*lines, *_group_lines(explanation), *_role_lines(explanation), *_attribute_lines(explanation)])


def _group_lines(explanation: Explanation) -> list[str]:
    lines = ["groups:"]
    for group in explanation.groups:
        lines.append(f"  {group.group}")
        lines += [f"      <- {_match(m)}" for m in group.rows]
    return lines


def _role_lines(explanation: Explanation) -> list[str]:
    lines = ["roles:"]
    for role in explanation.roles:
        name = role.role.name if role.role is not None else "(covered by CONNECTION_ADMIN)"
        lines.append(f"  {role_key_text(role.key)}: {name}")
        lines += [f"      <- {_match(m)}" for m in role.rows]
        lines += [f"      lost: {lost.role.name} {_match(lost.match)}  (beaten by {lost.beaten_by})" for lost in role.lost]
    return lines


def _attribute_lines(explanation: Explanation) -> list[str]:
    lines = ["attributes:"]
    for attribute in explanation.attributes:
        shown = "(not set)" if attribute.value is None else _value(attribute.value)
        lines.append(f"  {attribute.attribute} = {shown}")
        for match, values in attribute.rows:
            origins = "; ".join(f"{v!r} from {o}" for v, o in values)
            lines.append(f"      <- {_match(match)}: {origins}")
        lines += [f"      unused: {_match(m)}: {why}" for m, why in attribute.unused]
    return lines


def _match(match: Match) -> str:
    inputs = ", ".join(f"{k}={_value(v)}" for k, v in match.inputs.items())
    return f"{match.row} [{match.condition}]" + (f" with {inputs}" if inputs else "")


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(as_text(v) for v in value) + "]"
    return "(empty)" if value is None else repr(as_text(value)) if isinstance(value, str) else as_text(value)


def render_impact(found: Iterable[PersonImpact], old_version: str, new_version: str, people: int) -> str:
    found = list(found)
    changed = sum(1 for f in found if not f.error)
    lines = [f"tables {short_version(old_version)} -> {short_version(new_version)}: {changed} of {people} people change"]
    for item in found:
        lines.append(f"{item.person}:" + (f" cannot evaluate: {item.error}" if item.error else ""))
        lines += [f"  {change}" for change in item.changes]
    return "\n".join(lines)


def impact_to_dict(found: Iterable[PersonImpact], old_version: str, new_version: str) -> dict[str, Any]:
    return {"from_version": old_version, "to_version": new_version,
            "people": [{"person": f.person, "error": f.error,
                        "changes": [asdict(c) for c in f.changes]} for f in found]}


def account_to_dict(account: DesiredAccount) -> dict[str, Any]:
    return {
        "employee_id": account.employee_id,
        "user_name": account.user_name,
        "display_name": account.display_name,
        "active": account.active,
        "groups": sorted(account.groups),
        "roles": {role_key_text(k): v.name for k, v in sorted(account.roles.items(), key=lambda i: role_key_text(i[0]))},
        "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(account.attributes.items())},
        "tables_version": account.tables_version,
    }
