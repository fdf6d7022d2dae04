"""SCIM filter expressions (RFC 7644 section 3.4.2.2): parse once, evaluate anywhere.

``parse_filter`` turns filter text into a small frozen AST, using scim2-filter-parser for
the grammar. Two consumers walk that AST: ``scim.query`` translates it into SQLAlchemy
expressions for the store, and ``scim.matching.matches`` evaluates it in Python against a plain
mapping (a PATCH value-path target such as ``members[value eq "x"]``, or a person in the
mapping tables). One condition language for the whole project.

Normalisation done here so the consumers stay simple:

* ``emails[type eq "work"].value co "x"`` becomes
  ``ValuePath(emails, And(type eq "work", value co "x"))`` - "an element matches both";
* string literals stay distinguishable from ``true``/``false``/``null`` (``Literal``);
* multi-digit numbers are reassembled (the upstream lexer reads one digit per token).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Union

from scim2_filter_parser import ast as sfp
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError

from scim.errors import InvalidFilter, InvalidValue
from scim.input import check_text

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ORDER_OPS = frozenset({"gt", "ge", "lt", "le"})
MAX_FILTER_LENGTH = 4096
# Every consumer of the tree (the Python evaluator, the SQL translator, SQLAlchemy's
# compiler) recurses over it, so its depth is bounded before the parser builds it:
# parentheses and value-path brackets nested in one another, and and/or/not operators
# in all (an unparenthesised chain of n "and"s is a tree n deep).
MAX_FILTER_DEPTH = 16
MAX_FILTER_OPERATORS = 100
_LOGICAL = re.compile(r"\b(?:and|or|not)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AttrPath:
    """``[urn:]attr[.sub]`` as written; ``urn`` is None when no schema prefix was given."""

    attr: str
    sub: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: str | int | Decimal | bool | None


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    expr: Node


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: some element of the multi-valued ``attr`` satisfies ``filter``.

    Paths inside ``filter`` name sub-attributes of one element (``AttrPath(attr="type")``).
    """

    path: AttrPath
    filter: Node


Node = Union[Compare, Present, And, Or, Not, ValuePath]


class _Quoted(str):
    """A string literal from the filter, as opposed to the bare words true/false/null."""


# A JSON string (RFC 7159): escaped quotes included. The upstream lexer's '"[^"]*"' stops
# at the first quote, so strings are lifted out before lexing and put back after.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
# A JSON number standing alone as a comparison value; the upstream lexer reads only
# single digits and rejects "-", "." and exponents.
_NUMBER = re.compile(r"(?<=\s)(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?=\s|\)|\]|$)")


def _tokens(text: str) -> Iterator[Any]:
    """The upstream lexer, with quoted strings marked and digit runs merged into numbers."""
    literals: list[str] = []
    numbers: list[str] = []
    marker, number_marker = f"s{uuid.uuid4().hex}n", f"d{uuid.uuid4().hex}n"

    def stash(match: re.Match[str]) -> str:
        literals.append(match.group(1))
        return f'"{marker}{len(literals) - 1}"'

    def stash_number(match: re.Match[str]) -> str:
        numbers.append(match.group(1))
        return f'"{number_marker}{len(numbers) - 1}"'

    prepared = _NUMBER.sub(stash_number, _STRING.sub(stash, text))
    pending = None
    for token in SCIMLexer().tokenize(prepared):
        if token.type == "COMP_VALUE" and token.value.startswith(number_marker):
            token.type = "NUMBER"
            token.value = numbers[int(token.value.removeprefix(number_marker))]
        elif token.type == "COMP_VALUE":
            token.value = _Quoted(_unescape(literals[int(token.value.removeprefix(marker))]))
        if pending is not None and token.type == "NUMBER" and token.index == pending.end:
            pending.value += token.value
            pending.end = token.end
            continue
        if pending is not None:
            yield pending
            pending = None
        if token.type == "NUMBER":
            pending = token
            continue
        yield token
    if pending is not None:
        yield pending


def _unescape(raw: str) -> str:
    # RFC 7644 says compValue strings follow JSON (RFC 7159): decode \uXXXX and friends.
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def parse_filter(text: str) -> Node:
    """Parse SCIM filter text, raising ``InvalidFilter`` with a readable reason."""
    if not text or not text.strip():
        raise InvalidFilter("the filter is empty")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    _check_nesting(text)
    try:
        tree = SCIMParser().parse(_tokens(text))
    except (SCIMParserError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidFilter(f"cannot parse filter {text!r}: {exc}") from exc
    if tree is None:
        raise InvalidFilter(f"cannot parse filter {text!r}: unexpected end of input")
    return _convert(tree)


def _check_nesting(text: str) -> None:
    bare = _STRING.sub('""', text)  # brackets and words inside string literals do not count
    depth = deepest = 0
    for char in bare:
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_FILTER_DEPTH:
        raise InvalidFilter(f"the filter nests parentheses or brackets {deepest} deep; "
                            f"at most {MAX_FILTER_DEPTH} are allowed")
    operators = len(_LOGICAL.findall(bare))
    if operators > MAX_FILTER_OPERATORS:
        raise InvalidFilter(f"the filter has {operators} and/or/not operators; "
                            f"at most {MAX_FILTER_OPERATORS} are allowed")


def _convert(node: Any) -> Node:
    if isinstance(node, sfp.Filter):
        inner = _convert(node.expr)
        if node.namespace is not None:
            inner = ValuePath(_path(node.namespace, allow_sub=False), inner)
        return Not(inner) if node.negated else inner
    if isinstance(node, sfp.LogExpr):
        return _logical(node)
    if isinstance(node, sfp.AttrExpr):
        return _attr_expr(node)
    raise InvalidFilter(f"unsupported filter element {type(node).__name__}")


def _logical(node: sfp.LogExpr) -> Node:
    """Rebuild an and/or chain with "and" binding tighter than "or" (RFC 7644 3.4.2.2).

    The upstream grammar gives both the same precedence, so ``a or b and c`` arrives as
    ``(a or b) and c``. Unparenthesised chains are flattened and regrouped; a parenthesised
    group arrives wrapped twice (``Filter(Filter(...))``) and is kept whole.
    """
    operands: list[Any] = []
    operators: list[str] = []

    def flatten(item: Any) -> None:
        if isinstance(item, sfp.Filter) and not item.negated and item.namespace is None:
            if isinstance(item.expr, sfp.LogExpr):
                item = item.expr
        if isinstance(item, sfp.LogExpr):
            flatten(item.expr1)
            operators.append(item.op.lower())
            flatten(item.expr2)
        else:
            operands.append(item)

    flatten(node)
    groups: list[Node] = [_convert(operands[0])]
    for op, operand in zip(operators, operands[1:]):
        if op == "and":
            groups[-1] = And(groups[-1], _convert(operand))
        else:
            groups.append(_convert(operand))
    result = groups[0]
    for group in groups[1:]:
        result = Or(result, group)
    return result


def _attr_expr(node: sfp.AttrExpr) -> Node:
    op = node.value.lower()
    attr_path = node.attr_path
    if isinstance(attr_path.attr_name, sfp.Filter):
        # emails[type eq "work"].value co "x": the parser moved ".value" onto the namespace.
        scoped = attr_path.attr_name
        namespace = scoped.namespace
        sub = namespace.sub_attr.value if namespace.sub_attr else None
        if sub is None:
            raise InvalidFilter("a value filter must be followed by a sub-attribute")
        element_test = _leaf(op, AttrPath(sub), node.comp_value)
        outer = AttrPath(namespace.attr_name, None, namespace.uri)
        return ValuePath(outer, And(_convert(scoped.expr), element_test))
    return _leaf(op, _path(attr_path, allow_sub=True), node.comp_value)


def _leaf(op: str, path: AttrPath, comp_value: sfp.CompValue | None) -> Node:
    if op == "pr":
        return Present(path)
    if op not in COMPARE_OPS:
        raise InvalidFilter(f"unknown operator {op!r}")
    if comp_value is None:
        raise InvalidFilter(f"operator {op!r} needs a value")
    value = _literal(comp_value.value)
    if op in ORDER_OPS and (value is None or isinstance(value, bool)):
        raise InvalidFilter(f"{op} cannot compare with {json.dumps(value)}")
    return Compare(path, op, value)


def _literal(raw: str) -> str | int | Decimal | bool | None:
    if isinstance(raw, _Quoted):
        # A JSON escape can spell a NUL or a lone surrogate ("\ud800"): neither is text
        # any identity attribute holds, and neither can reach a database driver.
        try:
            check_text(raw)
        except InvalidValue as exc:
            raise InvalidFilter(f"a filter value is not valid text: {exc.detail}") from exc
        return str(raw)
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidFilter(f"invalid value {raw!r}") from exc


def _path(node: sfp.AttrPath, *, allow_sub: bool) -> AttrPath:
    if not isinstance(node.attr_name, str):
        raise InvalidFilter("nested value filters are not allowed")
    sub = node.sub_attr.value if node.sub_attr is not None else None
    if sub is not None and not allow_sub:
        raise InvalidFilter(f"unexpected sub-attribute {sub!r} before '['")
    return AttrPath(node.attr_name, sub, node.uri)
