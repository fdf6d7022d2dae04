"""Conditions: the ``when`` cells, in SCIM filter syntax over person fields.

Parsing is ``scim.filters.parse_filter`` (the project's one condition language); this module
adds what only the tables know: which person fields exist and of which type, so
``departmnet eq "Sales"`` or ``hire_date lt "last year"`` fail at load time with a line
number instead of silently matching nobody at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scim.errors import InvalidFilter
from scim.filters import (
    And,
    AttrPath,
    Compare,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    parse_filter,
)
from sync.rules.compiled import compile_node
from sync.rules.errors import Problem
from sync.rules.fields import AttributeMap
from sync.rules.values import ValueProblem, to_date, to_number

ALWAYS = "*"
SYNTAX_HINT = 'write a SCIM filter such as department eq "Finance" and location sw "US", or * for everyone'


@dataclass(frozen=True)
class Condition:
    """A parsed ``when`` cell; ``node`` is None for ``*`` (matches everyone)."""

    text: str
    node: Node | None
    fields: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], bool] = field(default=lambda values: True, compare=False, repr=False)

    def test(self, values: Mapping[str, Any]) -> bool:
        return self.check(values)


EVERYONE = Condition(ALWAYS, None, ())


def compile_condition(text: str, file: str, line: int, attribute_map: AttributeMap,
                      problems: list[Problem]) -> Condition | None:
    """The condition in ``text``, or None with every problem in it appended."""
    text = text.strip()
    if text == ALWAYS:
        return EVERYONE
    if not text:
        problems.append(Problem(file, line, "the condition is empty", SYNTAX_HINT))
        return None
    try:
        node = parse_filter(text)
    except InvalidFilter as exc:
        problems.append(Problem(file, line, f"bad condition {text!r}: {exc.detail}", SYNTAX_HINT))
        return None
    before = len(problems)
    for leaf in _leaves(node):
        _check_leaf(leaf, file, line, attribute_map, problems)
    if len(problems) > before:
        return None
    fields = tuple(dict.fromkeys(p.attr.lower() for p in paths(node)))
    types = {name: spec.type for name, spec in attribute_map.fields.items()}
    return Condition(text, node, fields, compile_node(node, types))


def paths(node: Node) -> Iterator[AttrPath]:
    """Every attribute path the condition reads, left to right."""
    for leaf in _leaves(node):
        yield leaf.path


def _leaves(node: Node) -> Iterator[Compare | Present | ValuePath]:
    if isinstance(node, And | Or):
        yield from _leaves(node.left)
        yield from _leaves(node.right)
    elif isinstance(node, Not):
        yield from _leaves(node.expr)
    else:
        yield node


def _check_leaf(leaf: Compare | Present | ValuePath, file: str, line: int,
                attribute_map: AttributeMap, problems: list[Problem]) -> None:
    path = leaf.path
    name = path.attr.lower()
    type_name = attribute_map.type_of(name)
    if type_name is None:
        known = ", ".join(attribute_map.fields)
        problems.append(Problem(file, line, f"unknown person field {path.attr!r}",
                                f"use one of the fields declared in fields.yaml: {known}"))
    elif isinstance(leaf, ValuePath) or path.sub is not None or path.urn is not None:
        problems.append(Problem(file, line, f"{path}: person fields have no sub-attributes or schema prefix",
                                f"compare the field itself, e.g. {name} eq \"...\""))
    elif isinstance(leaf, Compare):
        _check_value(leaf, type_name, file, line, problems)


def _check_value(leaf: Compare, type_name: str, file: str, line: int, problems: list[Problem]) -> None:
    where = f"{leaf.path.attr} {leaf.op} {leaf.value!r}"
    if leaf.value is None:
        return
    if leaf.op in ("co", "sw", "ew") and type_name not in ("string", "list"):
        problems.append(Problem(file, line, f"{where}: '{leaf.op}' only works on text, and {leaf.path.attr} is a {type_name}",
                                "use eq, ne, gt, ge, lt or le"))
        return
    if type_name == "bool" and not isinstance(leaf.value, bool):
        # scim.filters.compare only matches a boolean attribute against the bare words.
        problems.append(Problem(file, line, f"{where}: {leaf.path.attr} is true or false",
                                f"write {leaf.path.attr} {leaf.op} true (no quotes)"))
        return
    check = {"date": to_date, "number": to_number}.get(type_name)
    if check is None:
        return
    try:
        check(leaf.value)
    except ValueProblem as exc:
        problems.append(Problem(file, line, f"{where}: {exc}", f"{leaf.path.attr} is a {type_name} field"))
