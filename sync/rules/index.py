"""An index over the rules' ``field eq "value"`` tests, so a person meets only their candidates.

Most rows in real tables are ``department eq "Finance"``-shaped. Testing all of them against
every person costs rules x people; instead each rule is filed under one (field, value) its
condition requires (for ``a and b``, either side; for ``a or b``, both sides), and a person
looks up their own values. Only rules with no such test (``title co "Analyst"``, ``*``)
are tested on everyone. A candidate whose whole condition *is* the key needs no re-test.

Keys are case-folded, matching ``scim.filters.compare`` (strings compare case-insensitively).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scim.filters import And, Compare, Node, Or

from sync.rules.conditions import Condition
from sync.rules.fields import AttributeMap

Key = tuple[str, str]
INDEXABLE_TYPES = frozenset({"string", "list"})


class Rule(Protocol):
    @property
    def when(self) -> Condition: ...


@dataclass(frozen=True)
class RuleIndex:
    rules: tuple[Any, ...]
    keyed: Mapping[str, Mapping[str, tuple[int, ...]]]
    exact: frozenset[int]
    scan: tuple[int, ...]

    def matching(self, values: Mapping[str, Any]) -> list[Any]:
        """The rules whose condition holds for ``values``, in table order."""
        rules, exact = self.rules, self.exact
        hits = {i for i in self.scan if rules[i].when.test(values)}
        for field, table in self.keyed.items():
            value = values.get(field)
            for item in (value if isinstance(value, tuple) else (value,)):
                if not isinstance(item, str):
                    continue
                for i in table.get(item.casefold(), ()):
                    if i in exact or rules[i].when.test(values):
                        hits.add(i)
        return [rules[i] for i in sorted(hits)]


def build_index(rules: Sequence[Rule], attribute_map: AttributeMap) -> RuleIndex:
    keyed: dict[str, dict[str, list[int]]] = {}
    exact, scan = set(), []
    for position, rule in enumerate(rules):
        node = rule.when.node
        keys = _keys(node, attribute_map) if node is not None else None
        if keys is None:
            scan.append(position)
            continue
        for field, value in dict.fromkeys(keys):
            keyed.setdefault(field, {}).setdefault(value, []).append(position)
        if _is_exact(node, attribute_map):
            exact.add(position)
    frozen = {f: {v: tuple(p) for v, p in table.items()} for f, table in keyed.items()}
    return RuleIndex(tuple(rules), frozen, frozenset(exact), tuple(scan))


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
