"""Conditions compiled once into closures over typed person fields, for speed.

``scim.filters.matches`` walks the AST and re-derives types and literals on every call
(``Decimal(str(...))``, date parsing): about 10 us per test. The tables know each field's
type, so each leaf here is specialised once at load time (literal parsed, case folded).
``matches`` remains the reference: a value whose Python type is not the one its field
declares is handed to it, and a property test checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from scim.filters import And, Compare, Node, Not, Or, Present
from scim.matching import matches, parse_datetime

Check = Callable[[Mapping[str, Any]], bool]
_ORDER = {"eq": operator.eq, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_TEXT = {
    "eq": operator.eq,
    "co": lambda a, b: b in a,
    "sw": str.startswith,
    "ew": str.endswith,
    **{op: fn for op, fn in _ORDER.items() if op != "eq"},
}


def compile_node(node: Node, types: Mapping[str, str]) -> Check:
    """A function equivalent to ``lambda values: matches(node, values)``."""
    if isinstance(node, And):
        left, right = compile_node(node.left, types), compile_node(node.right, types)
        return lambda values: left(values) and right(values)
    if isinstance(node, Or):
        left, right = compile_node(node.left, types), compile_node(node.right, types)
        return lambda values: left(values) or right(values)
    if isinstance(node, Not):
        inner = compile_node(node.expr, types)
        return lambda values: not inner(values)
    leaf = _leaf(node, types.get(node.path.attr.lower(), ""))
    return leaf if leaf is not None else (lambda values: matches(node, values))


def _leaf(node: Node, type_name: str) -> Check | None:
    """One Python call per test: the common, correctly typed case inline; the rest to matches."""
    path = node.path
    if path.sub is not None or path.urn is not None or not isinstance(node, Compare | Present):
        return None
    test = _present if isinstance(node, Present) else _compare(node, type_name)
    exact = _EXACT_TYPES.get(type_name)
    if test is None or exact is None:
        return None
    field, negate = path.attr.lower(), isinstance(node, Compare) and node.op == "ne"

    def check(values: Mapping[str, Any]) -> bool:
        value = values.get(field)
        if value is None:
            return negate  # no value: only "ne" holds
        if type(value) in exact:
            return test(value) is not negate
        if type(value) is tuple and type_name == "list" and all(type(v) is str for v in value):
            return any(test(v) for v in value) is not negate
        return matches(node, values)

    return check


# The exact Python types sync.rules.values.coerce gives each field type (a list field's
# elements are str); any other value (a datetime in a date field, a bool in a number
# field) is left to matches, which decides by the value's own type.
_EXACT_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "number": frozenset({int, Decimal}),
    "date": frozenset({dt.date}),
    "bool": frozenset({bool}),
    "list": frozenset(),
}


def _present(value: Any) -> bool:
    return value != ""


def _compare(node: Compare, type_name: str) -> Callable[[Any], bool] | None:
    """The test of one value against the literal, or None to leave it to ``matches``."""
    op = "eq" if node.op == "ne" else node.op
    literal = node.value
    if isinstance(literal, bool):
        return (lambda value: value is literal) if type_name == "bool" and op == "eq" else None
    if literal is None:
        return None  # "eq null" and friends: rare, left to matches
    if type_name in ("string", "list") and isinstance(literal, str):
        folded, text_op = literal.casefold(), _TEXT[op]
        return lambda value: text_op(value.casefold(), folded)
    if op not in _ORDER:
        return None
    order = _ORDER[op]
    if type_name == "number":
        number = Decimal(str(literal))
        return lambda value: order(value, number)
    if type_name == "date":
        day = parse_datetime(str(literal)).date()
        return lambda value: order(value, day)
    return None
