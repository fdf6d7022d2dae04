"""Evaluating a parsed SCIM filter (``scim.filters``) in Python against a plain mapping:
a PATCH value-path target such as ``members[value eq "x"]``, or a person in the mapping
tables. ``scim.query`` translates the same AST into SQL instead; both follow RFC 7644
section 3.4.2.2's comparison rules, spelled out in ``compare``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from scim.filters import And, AttrPath, Node, Not, Or, Present, ValuePath


def matches(node: Node, item: Mapping[str, Any], case_exact: frozenset[str] = frozenset()) -> bool:
    """Evaluate ``node`` against a mapping with SCIM semantics.

    Attribute names are case-insensitive; strings compare case-insensitively unless their
    (lower-cased) name is in ``case_exact``; a multi-valued attribute matches when any of
    its values does; dates and numbers compare as dates and numbers.
    """
    if isinstance(node, And):
        return matches(node.left, item, case_exact) and matches(node.right, item, case_exact)
    if isinstance(node, Or):
        return matches(node.left, item, case_exact) or matches(node.right, item, case_exact)
    if isinstance(node, Not):
        return not matches(node.expr, item, case_exact)
    if isinstance(node, ValuePath):
        elements = _as_list(lookup(item, AttrPath(node.path.attr, None, node.path.urn)))
        return any(
            isinstance(el, Mapping) and matches(node.filter, el, case_exact) for el in elements
        )
    values = _as_list(lookup(item, node.path))
    exact = node.path.attr.lower() in case_exact or str(node.path).lower() in case_exact
    if isinstance(node, Present):
        return any(_present(v) for v in values)
    if node.value is None:  # "eq null": has no value; "ne null": has one
        present = any(_present(v) for v in values)
        return present if node.op == "ne" else (node.op == "eq" and not present)
    if node.op == "ne":
        return not any(compare(v, "eq", node.value, exact) for v in values)
    return any(compare(v, node.op, node.value, exact) for v in values)


def lookup(item: Mapping[str, Any], path: AttrPath) -> Any:
    """The value at ``path`` (attribute names case-insensitive); a list for multi-valued."""
    container: Any = item
    if path.urn is not None:
        container = _get(item, path.urn)
    value = _get(container, path.attr)
    if path.sub is None:
        return value
    return [_get(v, path.sub) for v in _as_list(value)]


def _get(container: Any, name: str) -> Any:
    if not isinstance(container, Mapping):
        return None
    if name in container:
        return container[name]
    lowered = name.lower()
    for key, value in container.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        out: list[Any] = []
        for v in value:
            out.extend(_as_list(v) if isinstance(v, list) else [v])
        return out
    return [value]


def _present(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    if isinstance(value, Mapping):
        return any(_present(v) for v in value.values())
    return True


def compare(actual: Any, op: str, expected: Any, case_exact: bool = False) -> bool:
    """Compare one attribute value with a filter literal, by the attribute value's type."""
    if actual is None:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        if op != "eq":
            return False
        return _as_bool(actual) is expected if isinstance(expected, bool) else False
    left, right = _coerce(actual, expected)
    if left is None:
        return False
    if isinstance(left, str):
        if not case_exact:
            left, right = left.casefold(), right.casefold()
        if op == "co":
            return right in left
        if op == "sw":
            return left.startswith(right)
        if op == "ew":
            return left.endswith(right)
    elif op in ("co", "sw", "ew"):
        return False
    return _ORDER[op](left, right)


_ORDER = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _coerce(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring both sides to one comparable type, led by the attribute's own type."""
    try:
        if isinstance(actual, dt.datetime):
            return _aware(actual), _aware(parse_datetime(str(expected)))
        if isinstance(actual, dt.date):
            return actual, parse_datetime(str(expected)).date()
        if isinstance(actual, int | float | Decimal):
            return Decimal(str(actual)), Decimal(str(expected))
    except (ValueError, InvalidOperation):
        return None, None
    return str(actual), str(expected)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_datetime(text: str) -> dt.datetime:
    """ISO 8601 date or date-time (``Z`` accepted); naive values are taken as UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return _aware(value)


