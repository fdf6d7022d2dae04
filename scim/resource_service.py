"""The SCIM protocol's rules for one resource type, over a storage backend.

A create, replace, patch or delete validates the whole resulting resource
(``scim.resources.normalize``), checks ``If-Match`` against the version the locked read
returned (RFC 7644 3.14), skips a PATCH that changes nothing, and tells the write hook
what was written, before and after, inside the write's own transaction: the audit log
and the push queue are written with the resource or not at all. Every SQL statement is
the backend's (``scim.storage``, ``scim.sqlstorage``); nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scim.errors import (
    InvalidValue,
    NotFound,
    PreconditionFailed,
    ScimError,
    Uniqueness,
)
from scim.patch import apply_patch
from scim.resources import etag, meta, normalize, render
from scim.schema import ResourceType, group_type, user_type
from scim.storage import (
    MembersDeleted,
    Query,
    ResourceStorage,
    SelfMember,
    StorageError,
    Stored,
    UnknownMembers,
)


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    resources: list[dict[str, Any]]


@dataclass(frozen=True)
class ScimWrite:
    """A stored SCIM write, for whoever records them (the audit log): resources are in
    their client form without ``meta``; ``before`` is None on create, ``after`` on delete."""

    resource_type: str
    action: str  # "create" | "replace" | "patch" | "delete"
    resource_id: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: str | None


def check_version(version: int, if_match: str | None) -> None:
    """RFC 7644 3.14: a write with If-Match must name the current version."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    current = etag(version)
    if current not in wanted and current.removeprefix("W/") not in wanted:
        raise PreconditionFailed(f"the resource has changed: its version is now {current}")


class ResourceService:
    rtype: ResourceType

    def __init__(self, storage: ResourceStorage, base_url: str,
                 on_write: Callable[[ScimWrite], None] | None = None) -> None:
        self.storage = storage
        self.base_url = base_url.rstrip("/")
        self.on_write = on_write

    # --- reads --------------------------------------------------------------------------

    def get(self, resource_id: str) -> dict[str, Any]:
        return self.render_rows([self._found(self.storage.get(resource_id), resource_id)])[0]

    def search(self, query: Query) -> Page:
        total, records = self.storage.search(query)
        return Page(total, query.start_index, self.render_rows(records))

    def location(self, resource_id: str) -> str:
        return f"{self.base_url}{self.rtype.endpoint}/{resource_id}"

    def render_rows(self, records: Sequence[Stored]) -> list[dict[str, Any]]:
        extras = self.computed([record.id for record in records])
        return [
            render(self.rtype, r.id, r.resource, extras.get(r.id, {}),
                   meta(self.rtype, r.created_at, r.updated_at, self.location(r.id), r.version))
            for r in records
        ]

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Server-computed attributes (a user's groups, a group's members) by id."""
        raise NotImplementedError

    def patchable(self, record: Stored) -> dict[str, Any]:
        """The document a PATCH works on: the stored JSON plus writable computed parts."""
        return dict(record.resource)

    def _found(self, record: Stored | None, resource_id: str) -> Stored:
        if record is None:
            raise NotFound(f"{self.rtype.name} {resource_id} not found")
        return record

    def _locked(self, resource_id: str, if_match: str | None, *, deleting: bool = False) -> Stored:
        """The resource re-read locked, and only then compared with ``If-Match``."""
        record = self._found(self.storage.get_for_write(resource_id, deleting=deleting), resource_id)
        check_version(record.version, if_match)
        return record

    # --- writes -------------------------------------------------------------------------

    def create(self, body: Any, actor: str | None) -> dict[str, Any]:
        record = self._store(None, normalize(body, self.rtype), actor)
        return self._written("create", record, None, actor)

    def replace(self, resource_id: str, body: Any, actor: str | None, if_match: str | None) -> dict[str, Any]:
        record = self._locked(resource_id, if_match)
        stored = normalize(body, self.rtype)
        before = self._before(record)
        return self._written("replace", self._store(record, stored, actor), before, actor)

    def patch(self, resource_id: str, request: Any, actor: str | None, if_match: str | None) -> dict[str, Any]:
        record = self._locked(resource_id, if_match)
        current = self.patchable(record)
        patched = apply_patch(current, request, self.rtype)
        if patched == current:
            return self.render_rows([record])[0]  # nothing changed: no write, no new version, no event
        before = self._before(record)
        return self._written("patch", self._store(record, normalize(patched, self.rtype), actor), before, actor)

    def delete(self, resource_id: str, actor: str | None, if_match: str | None) -> None:
        record = self._locked(resource_id, if_match, deleting=True)
        before = self._before(record)
        self.storage.delete(record, actor)
        self._emit("delete", resource_id, before, None, actor)

    def _store(self, record: Stored | None, stored: dict[str, Any], actor: str | None) -> Stored:
        try:
            if record is None:
                return self.storage.insert(stored, actor)
            return self.storage.update(record, stored, actor)
        except StorageError as exc:
            raise self._refusal(exc, stored) from exc

    def _refusal(self, exc: StorageError, stored: dict[str, Any]) -> ScimError:
        if isinstance(exc, UnknownMembers):
            shown = ", ".join(exc.ids[:5]) + (" ..." if len(exc.ids) > 5 else "")
            return InvalidValue(f"members refer to unknown resources: {shown}")
        if isinstance(exc, SelfMember):
            return InvalidValue("a group cannot be a member of itself")
        if isinstance(exc, MembersDeleted):
            return InvalidValue("members refer to unknown resources (deleted while this request was written)")
        name = self.rtype.key_attribute
        return Uniqueness(f"{name} {stored.get(name or '')!r} is already taken "
                          "(names are unique whatever their case, Unicode form or surrounding spaces)")

    def _before(self, record: Stored) -> dict[str, Any] | None:
        return self.render_rows([record])[0] if self.on_write else None

    def _written(self, action: str, record: Stored, before: dict[str, Any] | None,
                 actor: str | None) -> dict[str, Any]:
        after = self.render_rows([record])[0]
        self._emit(action, record.id, before, after, actor)
        return after

    def _emit(self, action: str, resource_id: str, before: dict[str, Any] | None,
              after: dict[str, Any] | None, actor: str | None) -> None:
        if self.on_write is None:
            return
        shown = after or before or {}
        self.on_write(ScimWrite(
            self.rtype.name, action, resource_id,
            str(shown.get("userName") or shown.get("displayName") or resource_id),
            _without_meta(before), _without_meta(after), actor))


class UserService(ResourceService):
    rtype = user_type()

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {
            user_id: {"groups": [{"value": g.value, "$ref": f"{self.base_url}/Groups/{g.value}",
                                  "display": g.display, "type": "direct"} for g in groups]}
            for user_id, groups in self.storage.related(ids).items()
        }


class GroupService(ResourceService):
    rtype = group_type()

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        shown: dict[str, dict[str, Any]] = {}
        for group_id, members in self.storage.related(ids).items():
            items = []
            for member in members:
                item = {"value": member.value, "type": member.type}
                if member.ref is not None:
                    item["$ref"] = member.ref
                if member.display is not None:
                    item["display"] = member.display
                items.append(item)
            shown[group_id] = {"members": items}
        return shown

    def patchable(self, record: Stored) -> dict[str, Any]:
        document = dict(record.resource)
        members = self.computed([record.id]).get(record.id, {}).get("members")
        if members:
            document["members"] = members
        return document


def _without_meta(resource: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if resource is None else {k: v for k, v in resource.items() if k != "meta"}
