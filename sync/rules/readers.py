"""One reader per table file: text in, validated rules out, every problem appended.

Readers check what one file can know (its own rows); ``loader`` checks across files
(an attribute naming a lookup table that does not exist, a key missing from its table).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

from sync.rules.conditions import Condition, compile_condition
from sync.rules.csvfile import CsvRow, read_csv
from sync.rules.errors import Problem
from sync.rules.fields import AttributeMap
from sync.rules.tables import (
    ATTRIBUTE_SOURCES,
    GROUP_NAME_LIMIT,
    AttributeRule,
    GroupRule,
    LookupEntry,
    LookupTable,
    Role,
    RoleRule,
    RowRef,
    Scope,
    role_key_text,
)
from sync.rules.yamlfile import INVALID, LineDict

LOOKUP_CALL = re.compile(r"^([A-Za-z0-9_-]+)\(\s*([a-z][a-z0-9_]*)\s*\)$")
_YES = frozenset({"yes", "true", "y", "1"})
_NO = frozenset({"", "no", "false", "n", "0"})


class _Seen:
    """Remembers rows by a normalised key to report duplicates and contradictions."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems
        self.rows: dict[Hashable, tuple[int, Any]] = {}

    def duplicate(self, line: int, key: Hashable, outcome: Any, clash: str) -> bool:
        """True (and a problem added) if an earlier row has this key."""
        if key not in self.rows:
            self.rows[key] = (line, outcome)
            return False
        first, earlier = self.rows[key]
        if earlier == outcome:
            self.problems.append(Problem(self.file, line, f"duplicate row: the same as line {first}",
                                         "delete one of the two rows"))
        else:
            self.problems.append(Problem(self.file, line, f"contradicts line {first}: {clash}",
                                         "keep the row you mean and delete the other"))
        return True


def _when(file: str, row: CsvRow, amap: AttributeMap, problems: list[Problem]) -> Condition | None:
    return compile_condition(row.cells["when"], file, row.line, amap, problems)


def _normal(condition: Condition) -> str:
    return " ".join(condition.text.split()).casefold()


def read_groups(file: str, text: str, amap: AttributeMap, problems: list[Problem]) -> list[GroupRule]:
    seen, rules = _Seen(file, problems), []
    for row in read_csv(file, text, ("when", "group"), (), problems):
        when, group = _when(file, row, amap, problems), row.cells["group"]
        if not group:
            problems.append(Problem(file, row.line, "the group name is empty", "write the BI group's name"))
        elif len(group) > GROUP_NAME_LIMIT:
            problems.append(Problem(file, row.line, f"the group name is {len(group)} characters long",
                                    f"Omni allows at most {GROUP_NAME_LIMIT}: shorten it"))
        elif when is not None and not seen.duplicate(row.line, (_normal(when), group.casefold()), group.casefold(), ""):
            rules.append(GroupRule(RowRef(file, row.line), when, group))
    return rules


def read_roles(file: str, text: str, amap: AttributeMap, problems: list[Problem]) -> list[RoleRule]:
    seen, rules = _Seen(file, problems), []
    for row in read_csv(file, text, ("when", "connection", "model", "role"), (), problems):
        when = _when(file, row, amap, problems)
        rule = _role_rule(file, row, when, problems)
        if rule is None:
            continue
        clash = f"the same condition cannot give two roles on {role_key_text(rule.key)}"
        if not seen.duplicate(row.line, (_normal(rule.when), rule.key), rule.role, clash):
            rules.append(rule)
    return rules


def _role_rule(file: str, row: CsvRow, when: Condition | None, problems: list[Problem]) -> RoleRule | None:
    cells, line, before = row.cells, row.line, len(problems)
    role = Role.__members__.get(cells["role"].upper().replace(" ", "_"))
    if role is None:
        problems.append(Problem(file, line, f"unknown role {cells['role']!r}",
                                f"use one of {', '.join(r.name for r in Role)}"))
    if not cells["connection"]:
        problems.append(Problem(file, line, "the connection is empty", "name the Omni connection"))
    if role is not None and role is not Role.CONNECTION_ADMIN and not cells["model"]:
        problems.append(Problem(file, line, f"{role.name} needs a model",
                                "name the model, or use CONNECTION_ADMIN for the whole connection"))
    if role is Role.CONNECTION_ADMIN and cells["model"]:
        problems.append(Problem(file, line, "CONNECTION_ADMIN applies to the whole connection",
                                "leave the model cell empty"))
    if when is None or role is None or len(problems) > before:
        return None
    return RoleRule(RowRef(file, line), when, cells["connection"], cells["model"] or None, role)


def read_attributes(file: str, text: str, amap: AttributeMap, problems: list[Problem]) -> list[AttributeRule]:
    rows = read_csv(file, text, ("when", "attribute", "source", "value"), ("multi",), problems)
    multi = _multi_attributes(file, rows, problems)
    seen, rules = _Seen(file, problems), []
    for row in rows:
        when = _when(file, row, amap, problems)
        rule = _attribute_rule(file, row, when, row.cells["attribute"] in multi, amap, problems)
        if rule is None:
            continue
        clash = f"{rule.attribute} is single-valued, so one condition cannot give it two values"
        outcome = (rule.source, rule.value, rule.key_field)
        key = (_normal(rule.when), rule.attribute) + ((outcome,) if rule.multi else ())
        if not seen.duplicate(row.line, key, outcome, clash):
            rules.append(rule)
    return rules


def _multi_attributes(file: str, rows: list[CsvRow], problems: list[Problem]) -> set[str]:
    """Attributes marked ``yes`` in the multi column on any of their rows."""
    multi = set()
    for row in rows:
        flag = row.cells.get("multi", "").lower()
        if flag in _YES:
            multi.add(row.cells["attribute"])
        elif flag not in _NO:
            problems.append(Problem(file, row.line, f"the multi cell says {flag!r}",
                                    "write yes for a multi-valued attribute, or leave it empty"))
    return multi


def _attribute_rule(file: str, row: CsvRow, when: Condition | None, multi: bool,
                    amap: AttributeMap, problems: list[Problem]) -> AttributeRule | None:
    cells, line, before = row.cells, row.line, len(problems)
    source, value, key_field = cells["source"].lower(), cells["value"], None
    if not cells["attribute"]:
        problems.append(Problem(file, line, "the attribute name is empty", "name the BI user attribute"))
    if source not in ATTRIBUTE_SOURCES:
        problems.append(Problem(file, line, f"unknown source {cells['source']!r}",
                                f"use one of {', '.join(ATTRIBUTE_SOURCES)}"))
    elif source == "lookup":
        value, key_field = _lookup_call(file, line, value, problems)
    if source in ("field", "lookup"):
        _check_field(file, line, key_field or value, multi and source == "field", amap, problems)
    if source == "constant" and not value:
        problems.append(Problem(file, line, "the constant value is empty", "write the value to set"))
    if when is None or len(problems) > before:
        return None
    return AttributeRule(RowRef(file, line), when, cells["attribute"], source, value, key_field, multi)


def _lookup_call(file: str, line: int, text: str, problems: list[Problem]) -> tuple[str, str | None]:
    match = LOOKUP_CALL.match(text.strip())
    if match is None:
        problems.append(Problem(file, line, f"{text!r} is not a lookup",
                                "write TABLE(field), e.g. cost_center_regions(cost_center)"))
        return text, None
    return match.group(1), match.group(2)


def _check_field(file: str, line: int, name: str, multi: bool, amap: AttributeMap,
                 problems: list[Problem]) -> None:
    type_name = amap.type_of(name)
    if type_name is None:
        problems.append(Problem(file, line, f"unknown person field {name!r}",
                                f"use one of the fields declared in fields.yaml: {', '.join(amap.fields)}"))
    elif type_name == "list" and not multi:
        problems.append(Problem(file, line, f"the field {name!r} holds several values",
                                "write yes in the multi column to make the attribute multi-valued"))


def read_lookup(file: str, name: str, text: str, problems: list[Problem]) -> LookupTable:
    seen, entries = _Seen(file, problems), {}
    for row in read_csv(file, text, ("key", "value"), (), problems):
        key, value = row.cells["key"], row.cells["value"]
        if not key or not value:
            problems.append(Problem(file, row.line, "the key or the value is empty", "fill in both cells"))
        elif not seen.duplicate(row.line, (key.casefold(), value), value, ""):
            entries.setdefault(key.casefold(), []).append(LookupEntry(value, RowRef(file, row.line)))
    return LookupTable(name, file, {k: tuple(v) for k, v in entries.items()})


def read_scope(file: str, doc: Any, amap: AttributeMap, problems: list[Problem]) -> Scope | None:
    if doc is INVALID:
        return None
    if not isinstance(doc, LineDict) or not isinstance(doc.get("when"), str):
        line = doc.line if isinstance(doc, LineDict) else 1
        problems.append(Problem(file, line, "has no 'when:' condition",
                                "write 'when: employment_status eq \"active\"' (or 'when: \"*\"' for everyone)"))
        return None
    line = doc.line_of("when")
    when = compile_condition(doc["when"], file, line, amap, problems)
    return Scope(RowRef(file, line), when) if when is not None else None

