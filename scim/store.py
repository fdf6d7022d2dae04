"""SCIM resources in the identity store: the adapter between SCIM JSON and the tables.

Every write validates the whole resulting resource, keeps the indexed columns, the
multi-valued rows and the membership rows in step with the stored JSON, bumps the
version (the ETag) and records the token that made it.

A replace, patch or delete is a read-modify-write of one resource: it re-reads the row
locked (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite) before it reads
anything else, so identity providers writing one resource in parallel are serialised, the
``If-Match`` check sees the version the write replaces, and the audit "before" is what the
row held. Membership rows carry foreign keys to the member, so a member deleted while it
is being added is either cascaded away or refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from scim.errors import InvalidValue, NotFound, PreconditionFailed, Uniqueness
from scim.filters import Node
from scim.patch import apply_patch
from scim.query import Translator, group_translator, sort_expression, user_translator
from scim.resources import etag, meta, normalize, render
from scim.schema import ENTERPRISE_USER, ResourceType, group_type, user_type
from sync.db import lock_for_write
from sync.models import (
    ScimDeletion, ScimGroup, ScimGroupMember, ScimUser, ScimUserValue, utcnow,
)
from sync.names import name_key

MEMBER_CHUNK = 500  # ids per IN (...) query: well under SQLite's variable limit


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


WriteHook = Callable[[Session, ScimWrite], None]


@dataclass(frozen=True)
class Query:
    filter: Node | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int = 100


def check_version(version: int, if_match: str | None) -> None:
    """RFC 7644 3.14: a write with If-Match must name the current version."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    current = etag(version)
    if current not in wanted and current.removeprefix("W/") not in wanted:
        raise PreconditionFailed(f"the resource has changed: its version is now {current}")


class ResourceStore:
    rtype: ResourceType
    model: Any
    translator: Translator

    def __init__(self, session: Session, base_url: str, on_write: WriteHook | None = None) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.on_write = on_write

    # --- reads --------------------------------------------------------------------------

    def get_row(self, resource_id: str) -> Any:
        row = self.session.get(self.model, resource_id) if len(resource_id) <= 36 else None
        if row is None:
            raise NotFound(f"{self.rtype.name} {resource_id} not found")
        return row

    def locked_row(self, resource_id: str, *, deleting: bool = False) -> Any:
        """The row re-read for a read-modify-write, locked until the transaction ends.

        PostgreSQL: ``FOR NO KEY UPDATE`` for a replace or patch, which still lets other
        writers add this resource to a group (their foreign key check takes ``KEY SHARE``),
        so two groups adding each other cannot deadlock; ``FOR UPDATE`` for a delete, which
        waits for those adds to commit and then cascades their rows away."""
        if len(resource_id) > 36:
            raise NotFound(f"{self.rtype.name} {resource_id} not found")
        lock_for_write(self.session)
        row = self.session.get(self.model, resource_id, populate_existing=True,
                               with_for_update=True if deleting else {"key_share": True})
        if row is None:
            raise NotFound(f"{self.rtype.name} {resource_id} not found")
        return row

    def get(self, resource_id: str) -> dict[str, Any]:
        return self.render_rows([self.get_row(resource_id)])[0]

    def search(self, query: Query) -> Page:
        condition = self.translator.where(query.filter) if query.filter is not None else None
        if query.count <= 0:
            return Page(self._count(condition), query.start_index, [])
        # One statement for the page and the total: COUNT(*) OVER () is computed over every
        # matching row before OFFSET/LIMIT, so a page costs one pass over the matches.
        stmt = select(self.model, func.count().over().label("total"))
        if condition is not None:
            stmt = stmt.where(condition)
        stmt = stmt.order_by(*self._order(query)).offset(query.start_index - 1).limit(query.count)
        found = self.session.execute(stmt).all()
        if found:
            total = found[0].total
        else:  # past the end (or nothing matches): the window had no row to ride on
            total = 0 if query.start_index == 1 else self._count(condition)
        return Page(total, query.start_index, self.render_rows([row[0] for row in found]))

    def _count(self, condition: Any) -> int:
        stmt = select(func.count()).select_from(self.model)
        if condition is not None:
            stmt = stmt.where(condition)
        return self.session.scalar(stmt) or 0

    def _order(self, query: Query) -> list[Any]:
        if not query.sort_by:
            return [self.model.created_at, self.model.id]
        key = sort_expression(self.translator, query.sort_by)
        return [key.desc() if query.descending else key.asc(), self.model.id]

    def location(self, resource_id: str) -> str:
        return f"{self.base_url}{self.rtype.endpoint}/{resource_id}"

    def render_rows(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        extras = self.computed([row.id for row in rows])
        return [
            render(self.rtype, row.id, row.resource, extras.get(row.id, {}),
                   meta(self.rtype, row.created_at, row.updated_at, self.location(row.id), row.version))
            for row in rows
        ]

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Server-computed attributes (a user's groups, a group's members) by id."""
        raise NotImplementedError

    # --- writes -------------------------------------------------------------------------

    def create(self, body: Any, actor: str | None) -> dict[str, Any]:
        stored = normalize(body, self.rtype)
        row = self.model(id=str(uuid.uuid4()), version=0, created_by=actor)
        self._write(row, stored, actor)
        return self._written("create", row.id, None, actor)

    def replace(self, resource_id: str, body: Any, actor: str | None, if_match: str | None) -> dict[str, Any]:
        row = self.locked_row(resource_id)
        check_version(row.version, if_match)
        stored = normalize(body, self.rtype)
        before = self._before(row)
        self._write(row, stored, actor)
        return self._written("replace", row.id, before, actor)

    def patch(self, resource_id: str, request: Any, actor: str | None, if_match: str | None) -> dict[str, Any]:
        row = self.locked_row(resource_id)
        check_version(row.version, if_match)
        current = self.patchable(row)
        patched = apply_patch(current, request, self.rtype)
        if patched == current:
            return self.get(row.id)  # nothing changed: no write, no new version, no event
        before = self._before(row)
        self._write(row, normalize(patched, self.rtype), actor)
        return self._written("patch", row.id, before, actor)

    def _before(self, row: Any) -> dict[str, Any] | None:
        return self.get(row.id) if self.on_write else None

    def _written(self, action: str, resource_id: str, before: dict[str, Any] | None,
                 actor: str | None) -> dict[str, Any]:
        after = self.get(resource_id)
        self._emit(action, resource_id, before, after, actor)
        return after

    def _emit(self, action: str, resource_id: str, before: dict[str, Any] | None,
              after: dict[str, Any] | None, actor: str | None) -> None:
        if self.on_write is None:
            return
        shown = after or before or {}
        self.on_write(self.session, ScimWrite(
            self.rtype.name, action, resource_id,
            str(shown.get("userName") or shown.get("displayName") or resource_id),
            _without_meta(before), _without_meta(after), actor))

    def patchable(self, row: Any) -> dict[str, Any]:
        """The document a PATCH works on: the stored JSON plus writable computed parts."""
        return dict(row.resource)

    def delete(self, resource_id: str, actor: str | None, if_match: str | None) -> None:
        row = self.locked_row(resource_id, deleting=True)
        check_version(row.version, if_match)
        before = self._before(row)
        self.session.add(ScimDeletion(
            resource_type=self.rtype.name, resource_id=row.id, resource=row.resource,
            name=row.resource.get("userName") or row.resource.get("displayName") or "",
            deleted_by=actor))
        self.session.delete(row)
        self.session.flush()  # the foreign keys cascade to the resource's membership rows
        self._emit("delete", resource_id, before, None, actor)

    def _write(self, row: Any, stored: dict[str, Any], actor: str | None) -> None:
        related = self.fill(row, stored)
        row.resource = stored
        row.version += 1
        row.updated_at = utcnow()
        row.updated_by = actor
        self.session.add(row)
        # The unique index on the canonical key is the one uniqueness check: it also holds
        # when two writers race, which a SELECT beforehand would not.
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:
            taken = stored.get(self.unique_name)
            raise Uniqueness(f"{self.unique_name} {taken!r} is already taken "
                             "(names are unique whatever their case, Unicode form or surrounding spaces)") from exc
        self.after_write(row, stored, related)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:  # a member deleted since _member_types looked it up
            raise InvalidValue("members refer to unknown resources "
                               "(deleted while this request was written)") from exc

    unique_name: str  # the attribute the unique key column is derived from

    def fill(self, row: Any, stored: dict[str, Any]) -> Any:
        """Set the indexed columns from ``stored``; return what lives in related rows."""
        raise NotImplementedError

    def after_write(self, row: Any, stored: dict[str, Any], related: Any) -> None:
        """Bring the related rows (values, memberships) in step with the resource."""


class UserStore(ResourceStore):
    rtype = user_type()
    model = ScimUser
    translator = user_translator()
    unique_name = "userName"

    def fill(self, row: ScimUser, stored: dict[str, Any]) -> None:
        key = name_key(stored["userName"])
        enterprise = stored.get(ENTERPRISE_USER, {})
        row.user_name, row.user_name_key = stored["userName"], key
        row.external_id = stored.get("externalId")
        row.display_name = stored.get("displayName")
        row.active = stored.get("active", True)
        row.employee_number = enterprise.get("employeeNumber")

    def after_write(self, row: ScimUser, stored: dict[str, Any], related: Any) -> None:
        self.session.execute(delete(ScimUserValue).where(ScimUserValue.user_id == row.id))
        values = [
            _value_row(row.id, attribute.name, element)
            for attribute in self.rtype.schema.attributes.values()
            if attribute.multi_valued and attribute.name != "groups"
            for element in stored.get(attribute.name, [])
        ]
        self.session.add_all(values)

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            rows = self.session.execute(
                select(ScimGroupMember.member_id, ScimGroup.id, ScimGroup.display_name)
                .join(ScimGroup, ScimGroup.id == ScimGroupMember.group_id)
                .where(ScimGroupMember.member_id.in_(chunk))
                .order_by(ScimGroup.display_name_key)
            )
            for member_id, group_id, name in rows:
                groups.setdefault(member_id, []).append({
                    "value": group_id, "$ref": f"{self.base_url}/Groups/{group_id}",
                    "display": name, "type": "direct",
                })
        return {user_id: {"groups": items} for user_id, items in groups.items()}


def _value_row(user_id: str, attribute: str, element: Any) -> ScimUserValue:
    if not isinstance(element, Mapping):
        element = {"value": element}
    value = element.get("value")
    text = None if value is None else str(value)
    kind = element.get("type")
    return ScimUserValue(
        user_id=user_id, attribute=attribute, value=text,
        value_key=name_key(text)[:512] if text is not None else None,
        type=str(kind).lower()[:64] if kind is not None else None,
        primary=element.get("primary"), display=element.get("display"), element=dict(element),
    )


class GroupStore(ResourceStore):
    rtype = group_type()
    model = ScimGroup
    translator = group_translator()
    unique_name = "displayName"

    def fill(self, row: ScimGroup, stored: dict[str, Any]) -> list[Any]:
        key = name_key(stored["displayName"])
        row.display_name, row.display_name_key = stored["displayName"], key
        row.external_id = stored.get("externalId")
        # Members live in their own table, the stored JSON keeps the rest.
        return stored.pop("members", [])

    def after_write(self, row: ScimGroup, stored: dict[str, Any], related: Any) -> None:
        wanted = self._member_rows(row.id, related)
        current = {m.member_id: m for m in self.session.scalars(
            select(ScimGroupMember).where(ScimGroupMember.group_id == row.id))}
        gone = [m for m in current if m not in wanted]
        for chunk in _chunks(gone):
            self.session.execute(delete(ScimGroupMember).where(
                ScimGroupMember.group_id == row.id, ScimGroupMember.member_id.in_(chunk)))
        for member_id, member in wanted.items():
            existing = current.get(member_id)
            if existing is None:
                self.session.add(member)
            elif (existing.display, existing.ref) != (member.display, member.ref):
                existing.display, existing.ref = member.display, member.ref
                self.session.add(existing)

    def _member_rows(self, group_id: str, members: Iterable[Any]) -> dict[str, ScimGroupMember]:
        kinds = self._member_types(group_id, members)
        rows: dict[str, ScimGroupMember] = {}
        for member in members:
            if isinstance(member, Mapping) and member.get("value"):
                member_id = str(member["value"])
                kind = kinds[member_id]
                rows[member_id] = ScimGroupMember(
                    group_id=group_id, member_id=member_id, member_type=kind,
                    member_user_id=member_id if kind == "User" else None,
                    member_group_id=member_id if kind == "Group" else None,
                    display=member.get("display"), ref=member.get("$ref"))
        return rows

    def _member_types(self, group_id: str, members: Iterable[Any]) -> dict[str, str]:
        """Each member id with its resource type; an unknown id is an error, not a guess."""
        ids = [str(m["value"]) for m in members if isinstance(m, Mapping) and m.get("value")]
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(ids))):
            found.update((i, "User") for i in self.session.scalars(select(ScimUser.id).where(ScimUser.id.in_(chunk))))
            found.update((i, "Group") for i in self.session.scalars(select(ScimGroup.id).where(ScimGroup.id.in_(chunk))))
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise InvalidValue(f"members refer to unknown resources: {shown}")
        if group_id in found:
            raise InvalidValue("a group cannot be a member of itself")
        return found

    def patchable(self, row: ScimGroup) -> dict[str, Any]:
        document = dict(row.resource)
        members = self.computed([row.id]).get(row.id, {}).get("members")
        if members:
            document["members"] = members
        return document

    def computed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        members: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            rows = self.session.scalars(
                select(ScimGroupMember).where(ScimGroupMember.group_id.in_(chunk))
                .order_by(ScimGroupMember.group_id, ScimGroupMember.member_id)
            )
            for member in rows:
                item = {"value": member.member_id, "type": member.member_type}
                if member.ref is not None:
                    item["$ref"] = member.ref
                if member.display is not None:
                    item["display"] = member.display
                members.setdefault(member.group_id, []).append(item)
        return {group_id: {"members": items} for group_id, items in members.items()}


def _without_meta(resource: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if resource is None else {k: v for k, v in resource.items() if k != "meta"}


def _chunks(items: Sequence[str] | list[str]) -> Iterable[list[str]]:
    items = list(items)
    for start in range(0, len(items), MEMBER_CHUNK):
        yield items[start:start + MEMBER_CHUNK]


STORES: dict[str, type[ResourceStore]] = {"Users": UserStore, "Groups": GroupStore}
