"""Impact analysis: who gains or loses what if one version of the tables replaces another.

Pure: both table sets and the people are given; ``sync.rules.source`` reads the tables from a
directory or a git revision, and the CLI reads the people from the identity store or a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sync.rules.errors import PersonError
from sync.rules.evaluate import DesiredAccount, evaluate
from sync.rules.person import Person
from sync.rules.tables import Tables, role_key_text


@dataclass(frozen=True)
class AccessChange:
    """One difference: ``before`` None means gained, ``after`` None means lost."""

    kind: str  # "active", "group", "role" or "attribute"
    name: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        if self.kind == "group":
            return f"{'gains' if self.after else 'loses'} group {self.name}"
        return f"{self.kind} {self.name}: {self.before or '(none)'} -> {self.after or '(none)'}"


@dataclass(frozen=True)
class PersonImpact:
    person: str
    changes: tuple[AccessChange, ...]
    error: str | None = None


def impact(old: Tables, new: Tables, people: Iterable[Person]) -> list[PersonImpact]:
    """Only people whose account differs (or cannot be evaluated) are listed."""
    found = []
    for person in people:
        try:
            before, _ = evaluate(person, old)
            after, _ = evaluate(person, new)
        except PersonError as exc:
            found.append(PersonImpact(person.label(), (), str(exc)))
            continue
        changes = account_changes(before, after)
        if changes:
            found.append(PersonImpact(person.label(), changes))
    return found


def account_changes(before: DesiredAccount, after: DesiredAccount) -> tuple[AccessChange, ...]:
    changes = []
    if before.active != after.active:
        changes.append(AccessChange("active", "account", str(before.active).lower(), str(after.active).lower()))
    for group in sorted(before.groups ^ after.groups):
        changes.append(AccessChange("group", group, group if group in before.groups else None,
                                    group if group in after.groups else None))
    roles_before = {role_key_text(k): v.name for k, v in before.roles.items()}
    roles_after = {role_key_text(k): v.name for k, v in after.roles.items()}
    changes += _mapping_changes("role", roles_before, roles_after)
    changes += _mapping_changes("attribute", before.attributes, after.attributes)
    return tuple(changes)


def _mapping_changes(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[AccessChange]:
    return [AccessChange(kind, name, _text(before.get(name)), _text(after.get(name)))
            for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)]


def _text(value: Any) -> str | None:
    if isinstance(value, tuple):
        return ", ".join(value)
    return value
