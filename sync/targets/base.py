"""The target port: what the planner may ask of any BI platform, as plain frozen values.

Users are keyed on ``user_name``: an id is only a hint (Omni may mint a new id when a user
is re-activated), so every operation that takes a :class:`UserRef` falls back to a lookup
by userName when the id is unknown or stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from sync.rules.tables import Role

AttributeValue = str | int | float | bool | tuple[str, ...] | tuple[float, ...]
"""A user attribute value as the platform holds it; lists become tuples."""


@dataclass(frozen=True)
class Capabilities:
    """What a target can do, so the planner neither asks for the impossible nor wastes calls."""

    attributes: bool
    roles: bool
    bulk_membership: bool  # many members added by one call
    reactivation_keeps_id: bool
    max_group_name_length: int | None = None
    attribute_names: frozenset[str] | None = None  # None: any defined attribute


@dataclass(frozen=True)
class UserRef:
    """Who a call is about: the userName always, the id when one is known (a hint)."""

    user_name: str
    id: str | None = None


@dataclass(frozen=True)
class BIUser:
    id: str
    user_name: str
    display_name: str
    active: bool
    attributes: Mapping[str, AttributeValue] = field(
        default_factory=lambda: MappingProxyType({}))

    @property
    def ref(self) -> UserRef:
        return UserRef(self.user_name, self.id)


@dataclass(frozen=True)
class UserChanges:
    """Only what differs: a ``None`` field is left as it is. In ``attributes`` a ``None``
    value unsets that attribute; attributes not named are left as they are."""

    display_name: str | None = None
    active: bool | None = None
    attributes: Mapping[str, AttributeValue | None] | None = None

    def is_empty(self) -> bool:
        return self.display_name is None and self.active is None and not self.attributes


@dataclass(frozen=True)
class BIGroup:
    id: str
    name: str
    member_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttributeDefinition:
    name: str
    label: str
    type: str  # "String" or "Number"
    multiple_values: bool
    system: bool  # read-only, set by the platform itself


@dataclass(frozen=True)
class Connection:
    id: str
    name: str
    base_role: str | None


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    connection: str  # the connection's name


@dataclass(frozen=True)
class RoleAssignment:
    """One role a user or group holds on a model (``model`` None: the whole connection).

    ``origin`` is where it comes from: USER (direct), GROUP (``group`` names it), BASE (the
    connection's base role) or ORG. ``role`` is the platform's role name, possibly custom.
    """

    connection: str
    model: str | None
    role: str
    origin: str
    group: str | None = None


@runtime_checkable
class Target(Protocol):
    """A BI platform as the planner sees it. Errors: :mod:`sync.targets.errors`."""

    @property
    def capabilities(self) -> Capabilities: ...

    # Users, keyed on userName.
    def find_user(self, user_name: str) -> BIUser | None: ...
    def list_users(self, page_size: int = 100) -> Iterator[BIUser]: ...
    def create_user(self, user_name: str, display_name: str,
                    attributes: Mapping[str, AttributeValue] | None = None) -> BIUser: ...
    def update_user(self, user: UserRef, changes: UserChanges) -> BIUser: ...
    def deactivate_user(self, user: UserRef) -> BIUser: ...
    def reactivate_user(self, user: UserRef) -> BIUser:
        """The returned user's id may differ from the one before (Omni may mint one)."""
        ...

    # Groups, keyed on their name.
    def find_group(self, name: str) -> BIGroup | None: ...
    def list_groups(self, page_size: int = 100) -> Iterator[BIGroup]: ...
    def create_group(self, name: str, member_ids: Iterable[str] = ()) -> BIGroup: ...
    def add_members(self, group_id: str, user_ids: Iterable[str]) -> None: ...
    def remove_member(self, group_id: str, user_id: str) -> None: ...
    def remove_members(self, group_id: str, user_ids: Iterable[str]) -> None: ...

    # Roles and definitions (only when capabilities say so).
    def set_user_role(self, user: UserRef, connection: str, model: str | None, role: Role) -> None: ...
    def set_group_role(self, group_id: str, connection: str, model: str | None, role: Role) -> None: ...
    def user_roles(self, user: UserRef) -> list[RoleAssignment]: ...
    def group_roles(self, group_id: str) -> list[RoleAssignment]: ...
    def attribute_definitions(self) -> list[AttributeDefinition]: ...
    def connections(self) -> list[Connection]: ...
    def models(self) -> list[Model]: ...
