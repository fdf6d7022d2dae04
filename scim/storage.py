"""Where SCIM resources are kept: the contract a storage backend fulfils for the service.

``scim.resource_service`` holds the protocol's rules (patch, normalisation, versions and
``If-Match``, what the write hook is told) and calls a ``ResourceStorage`` for everything
that touches the database; ``scim.sqlstorage`` is the backend the endpoint runs on, and
``tests/scim/test_storage_contract.py`` checks any backend against this contract.

A backend stores a resource's document in the stored form ``scim.resources.normalize``
returns, bumps its version by one on every write (the first write makes version 1) and
keeps the memberships in step: a group's ``members`` are kept as membership rows, not in
its document, and come back (with a user's groups) from ``related``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from scim.filters import Node


@dataclass(frozen=True)
class Query:
    filter: Node | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int = 100


@dataclass(frozen=True)
class Member:
    """One membership: for a group, a member (``type`` "User" or "Group", ``display`` and
    ``ref`` as the identity provider sent them); for a user, a group it is in (``display``
    the group's name)."""

    value: str
    type: str
    display: str | None = None
    ref: str | None = None


class Stored(Protocol):
    """A stored resource as a backend hands it out."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def updated_at(self) -> dt.datetime: ...
    @property
    def resource(self) -> dict[str, Any]: ...


class StorageError(Exception):
    """A write the backend refused; the service says why in SCIM terms."""


class NameTaken(StorageError):
    """Another resource of the type holds the same canonical key (``sync.names.name_key``)."""


class UnknownMembers(StorageError):
    """Members name ids that are neither a user nor a group."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = ids


class MembersDeleted(StorageError):
    """A member existed when it was looked up and was deleted before the write finished."""


class SelfMember(StorageError):
    """A group lists itself among its members."""


class ResourceStorage(Protocol):
    """The resources of one type. Every method runs in the caller's transaction."""

    def get(self, resource_id: str) -> Stored | None: ...

    def get_for_write(self, resource_id: str, *, deleting: bool = False) -> Stored | None:
        """The resource re-read and locked until the transaction ends, so writers of one
        resource are serialised; ``deleting`` also waits for memberships being added."""

    def search(self, query: Query) -> tuple[int, list[Stored]]:
        """The total number of matches and the page ``query`` asks for."""

    def insert(self, document: dict[str, Any], actor: str | None) -> Stored:
        """A new resource with a new id; raises ``StorageError``."""

    def update(self, record: Stored, document: dict[str, Any], actor: str | None) -> Stored:
        """``record`` (from ``get_for_write``) now holds ``document``; raises ``StorageError``."""

    def delete(self, record: Stored, actor: str | None) -> None:
        """Remove ``record`` and the memberships it is part of, keeping a tombstone."""

    def related(self, ids: list[str]) -> dict[str, list[Member]]:
        """For each id that has any: a user's groups by group name, a group's members by id."""
