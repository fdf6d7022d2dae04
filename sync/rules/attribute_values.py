"""The values one attributes.csv row yields for a person: bare (for evaluate) or with origins
(for explanations: which field, constant or lookup row each value came from)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.rules.tables import AttributeRule, LookupTable
from sync.rules.values import as_text


def rule_values(rule: AttributeRule, values: Mapping[str, Any],
                lookups: Mapping[str, LookupTable]) -> tuple[str, ...]:
    """The row's values for this person; empty when its field is empty or its key unknown."""
    if rule.source == "constant":
        return (rule.value,)
    texts = _texts(rule, values)
    if rule.source == "field":
        return texts
    table = lookups[rule.value]
    return tuple(entry.value for text in texts for entry in table.get(text))


def rule_sources(rule: AttributeRule, values: Mapping[str, Any],
                 lookups: Mapping[str, LookupTable]) -> tuple[tuple[str, str], ...]:
    """Like ``rule_values``, each value paired with where it came from."""
    if rule.source == "constant":
        return ((rule.value, "constant"),)
    texts = _texts(rule, values)
    if rule.source == "field":
        return tuple((text, f"field {rule.value}") for text in texts)
    table = lookups[rule.value]
    return tuple((entry.value, f"{entry.row} ({rule.key_field} {text!r})")
                 for text in texts for entry in table.get(text))


def _texts(rule: AttributeRule, values: Mapping[str, Any]) -> tuple[str, ...]:
    raw = values.get(rule.key_field or rule.value)
    items = raw if type(raw) is tuple else () if raw is None else (raw,)
    return tuple(v if type(v) is str else as_text(v) for v in items)
