"""An index over the rules' ``field eq "value"`` tests, so a person meets only their candidates.

Most rows in real tables are ``department eq "Finance"``-shaped. Testing all of them against
every person costs rules x people; instead each rule is filed under one (field, value) its
condition requires (for ``a and b``, either side; for ``a or b``, both sides), and a person
looks up their own values. A candidate whose whole condition *is* the key needs no re-test.
Rules starting with another text test (``title co "Analyst" and ...``) are grouped by that
test, which is then run once per person for the group; only the rest are tested one by one.

Keys are case-folded, matching ``scim.filters.compare`` (strings compare case-insensitively).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from scim.filters import And, Compare, Node, Or
from sync.rules.compiled import compile_node
from sync.rules.conditions import Condition
from sync.rules.fields import AttributeMap

Key = tuple[str, str]
INDEXABLE_TYPES = frozenset({"string", "list"})


class Rule(Protocol):
    @property
    def when(self) -> Condition: ...


Check = Callable[[Mapping[str, Any]], bool]
_GUARD_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": str.__eq__, "co": str.__contains__, "sw": str.startswith, "ew": str.endswith,
}


@dataclass(frozen=True)
class Guard:
    """Rules whose condition starts ``field op "literal" and ...``: when that first test
    fails, none of them can hold, so it is tested once for the whole group."""

    field: str
    op: str
    literal: str
    positions: tuple[int, ...]
    rests: tuple[Check | None, ...] = field(repr=False)
    """Per rule, the rest of its condition after the guard (None: the guard is all of it)."""


@dataclass(frozen=True)
class RuleIndex:
    rules: tuple[Any, ...]
    checks: tuple[Check, ...] = field(repr=False)
    keyed: Mapping[str, Mapping[str, tuple[int, ...]]]
    exact: frozenset[int]
    always: tuple[int, ...]
    guards: tuple[Guard, ...]
    scan: tuple[int, ...]

    def matching(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The rules whose condition holds for ``values``, in table order."""
        checks = self.checks
        hits = set(self.always)
        hits.update(i for i in self.scan if checks[i](values))
        self._add_guarded(values, hits)
        self._add_keyed(values, hits)
        rules = self.rules
        return tuple([rules[i] for i in sorted(hits)])

    def _add_guarded(self, values: Mapping[str, Any], hits: set[int]) -> None:
        checks = self.checks
        for field_name, test, literal, members in self._guard_plan:
            value = values.get(field_name)
            if type(value) is str:
                if test(value.casefold(), literal):
                    for i, rest in members:
                        if rest is None or rest(values):
                            hits.add(i)
            elif value is not None:  # not the declared type: let each full condition decide
                hits.update(i for i, _ in members if checks[i](values))

    def _add_keyed(self, values: Mapping[str, Any], hits: set[int]) -> None:
        checks = self.checks
        for name, table, everything in self._keyed_plan:
            value = values.get(name)
            for item in (value if type(value) is tuple or type(value) is list else (value,)):
                if type(item) is str:
                    found = table.get(item.casefold())
                    if found is not None:
                        hits.update(found[0])
                        for i in found[1]:
                            if checks[i](values):
                                hits.add(i)
                elif item is not None:  # not the declared type: let each full condition decide
                    hits.update(i for i in everything if checks[i](values))

    @cached_property
    def _keyed_plan(self) -> tuple[tuple[str, dict[str, tuple[tuple[int, ...], tuple[int, ...]]],
                                         tuple[int, ...]], ...]:
        """Per field and key: the rules the key alone decides, and those still to test;
        and all the field's rules, for a value of an unexpected type."""
        plan = []
        for name, table in self.keyed.items():
            split = {key: (tuple(i for i in found if i in self.exact), tuple(i for i in found if i not in self.exact))
                     for key, found in table.items()}
            plan.append((name, split, tuple(sorted({i for found in table.values() for i in found}))))
        return tuple(plan)

    @cached_property
    def _guard_plan(self) -> tuple[tuple[str, Callable[[str, str], bool], str,
                                         tuple[tuple[int, Check | None], ...]], ...]:
        """The guards as plain tuples: the per-person loop then does no attribute lookups."""
        return tuple((g.field, _GUARD_OPS[g.op], g.literal, tuple(zip(g.positions, g.rests))) for g in self.guards)


def build_index(rules: Sequence[Rule], attribute_map: AttributeMap) -> RuleIndex:
    keyed: dict[str, dict[str, list[int]]] = {}
    guards: dict[tuple[str, str, str], list[tuple[int, Check | None]]] = {}
    types = {name: spec.type for name, spec in attribute_map.fields.items()}
    exact, always, scan = set(), [], []
    for position, rule in enumerate(rules):
        node = rule.when.node
        keys = _keys(node, attribute_map) if node is not None else None
        guard = _guard(node, attribute_map) if node is not None else None
        if node is None:
            always.append(position)
        elif keys is not None:
            for name, value in dict.fromkeys(keys):
                keyed.setdefault(name, {}).setdefault(value, []).append(position)
            if _is_exact(node, attribute_map):
                exact.add(position)
        elif guard is not None:
            rest = _rest(node) if isinstance(node, And) else None
            guards.setdefault(guard, []).append((position, compile_node(rest, types) if rest else None))
        else:
            scan.append(position)
    return RuleIndex(
        tuple(rules), tuple(rule.when.check for rule in rules),
        {f: {v: tuple(p) for v, p in table.items()} for f, table in keyed.items()},
        frozenset(exact), tuple(always),
        tuple(Guard(f, op, lit, tuple(p for p, _ in members), tuple(r for _, r in members))
              for (f, op, lit), members in guards.items()),
        tuple(scan))


def _rest(node: And) -> Node:
    """``a and b and c`` without its first test ``a``: what remains once ``a`` holds."""
    if isinstance(node.left, And):
        return And(_rest(node.left), node.right)
    return node.right


def _guard(node: Node, attribute_map: AttributeMap) -> tuple[str, str, str] | None:
    """The first test of an ``and`` chain, if it is a text test on a string field."""
    while isinstance(node, And):
        node = node.left
    if not isinstance(node, Compare) or node.op not in _GUARD_OPS or not isinstance(node.value, str):
        return None
    if node.path.sub or node.path.urn or attribute_map.type_of(node.path.attr.lower()) != "string":
        return None
    return (node.path.attr.lower(), node.op, node.value.casefold())


def _keys(node: Node, attribute_map: AttributeMap) -> list[Key] | None:
    """Keys such that the condition can only hold if the person has one of them."""
    if isinstance(node, Compare):
        key = _key(node, attribute_map)
        return [key] if key else None
    if isinstance(node, And):
        return _keys(node.left, attribute_map) or _keys(node.right, attribute_map)
    if isinstance(node, Or):
        left, right = _keys(node.left, attribute_map), _keys(node.right, attribute_map)
        return left + right if left is not None and right is not None else None
    return None


def _key(node: Compare, attribute_map: AttributeMap) -> Key | None:
    path = node.path
    field = path.attr.lower()
    if node.op != "eq" or not isinstance(node.value, str) or path.sub or path.urn:
        return None
    if attribute_map.type_of(field) not in INDEXABLE_TYPES:
        return None
    return (field, node.value.casefold())


def _is_exact(node: Node, attribute_map: AttributeMap) -> bool:
    if isinstance(node, Compare):
        return _key(node, attribute_map) is not None
    if isinstance(node, Or):
        return _is_exact(node.left, attribute_map) and _is_exact(node.right, attribute_map)
    return False
