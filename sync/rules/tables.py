"""The loaded mapping tables as frozen values: rules, lookup tables, scope and version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from sync.rules.conditions import Condition
from sync.rules.fields import AttributeMap

if TYPE_CHECKING:
    from sync.rules.index import RuleIndex

GROUP_NAME_LIMIT = 64  # Omni rejects longer group names.
ATTRIBUTE_SOURCES = ("field", "constant", "lookup")


class Role(IntEnum):
    """Omni's connection role ladder; a higher value outranks a lower one."""

    NO_ACCESS = 0
    VIEWER = 1
    RESTRICTED_QUERIER = 2
    QUERIER = 3
    MODELER = 4
    CONNECTION_ADMIN = 5
    QUERY_TOPICS = 2  # an alias: Omni's documentation's name for RESTRICTED_QUERIER


def canonical_role(name: str) -> str:
    """One name per role: ``QUERY_TOPICS`` is ``RESTRICTED_QUERIER``; a custom role's name
    is kept as it is."""
    text = name.strip().upper().replace(" ", "_")
    return Role[text].name if text in Role.__members__ else name


RoleKey = tuple[str, str | None]
"""(connection, model); the model is None for a connection-wide role (CONNECTION_ADMIN)."""


def role_key_text(key: RoleKey) -> str:
    connection, model = key
    return connection if model is None else f"{connection}/{model}"


def parse_role_key(text: str) -> RoleKey:
    connection, _, model = text.partition("/")
    return connection.strip(), model.strip() or None


@dataclass(frozen=True, order=True)
class RowRef:
    """Where a rule was written: ``groups.csv:12``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class GroupRule:
    row: RowRef
    when: Condition
    group: str


@dataclass(frozen=True)
class RoleRule:
    row: RowRef
    when: Condition
    connection: str
    model: str | None
    role: Role

    @property
    def key(self) -> RoleKey:
        return (self.connection, self.model)


@dataclass(frozen=True)
class AttributeRule:
    """One row of attributes.csv.

    ``source`` says what ``value`` is: a person field name (``field``), the text itself
    (``constant``) or a lookup table name whose key is the person field ``key_field`` (``lookup``).
    """

    row: RowRef
    when: Condition
    attribute: str
    source: str
    value: str
    key_field: str | None
    multi: bool


@dataclass(frozen=True)
class LookupEntry:
    value: str
    row: RowRef


@dataclass(frozen=True)
class LookupTable:
    """``lookups/NAME.csv``: key -> values (several rows with one key give several values).

    Keys compare case-insensitively, as conditions do; a ``*`` key is the fallback.
    """

    name: str
    file: str
    entries: Mapping[str, tuple[LookupEntry, ...]]

    def get(self, key: str) -> tuple[LookupEntry, ...]:
        return self.entries.get(key.casefold()) or self.entries.get("*", ())


@dataclass(frozen=True)
class Scope:
    """Who is provisioned at all; everyone else gets an inactive account with no access."""

    row: RowRef
    when: Condition


@dataclass(frozen=True)
class Tables:
    """Everything ``evaluate`` needs, validated; ``version`` names these exact file contents."""

    version: str
    attribute_map: AttributeMap
    scope: Scope
    groups: tuple[GroupRule, ...]
    roles: tuple[RoleRule, ...]
    attributes: tuple[AttributeRule, ...]
    lookups: Mapping[str, LookupTable]
    index: RuleIndex = field(compare=False, repr=False)
