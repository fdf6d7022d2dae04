"""The SQL backend of the SCIM service: every query and lock on the identity store's
SCIM tables (``sync.models``), on SQLite or PostgreSQL.

Every write keeps the indexed columns, the multi-valued rows and the membership rows in
step with the stored JSON, bumps the version (the ETag) and records the token that made it.

A replace, patch or delete is a read-modify-write of one resource: the service re-reads
the row with ``get_for_write`` (``SELECT ... FOR [NO KEY] UPDATE`` on PostgreSQL, the write
lock on SQLite) before it reads anything else, so identity providers writing one resource
in parallel are serialised, the ``If-Match`` check sees the version the write replaces,
and the audit "before" is what the row held. Membership rows carry foreign keys to the
member, so a member deleted while it is being added is either cascaded away or refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from scim.query import Translator, group_translator, sort_expression, user_translator
from scim.schema import ENTERPRISE_USER, ResourceType, group_type, user_type
from scim.storage import (
    Member,
    MembersDeleted,
    NameTaken,
    Query,
    SelfMember,
    UnknownMembers,
)
from sync.db import lock_for_write
from sync.models import (
    ScimDeletion,
    ScimGroup,
    ScimGroupMember,
    ScimUser,
    ScimUserValue,
    utcnow,
)
from sync.names import name_key

MEMBER_CHUNK = 500  # ids per IN (...) query: well under SQLite's variable limit
MAX_ID = 36  # the id columns' length: a longer id names nothing (and PostgreSQL would refuse it)


class SqlStorage:
    """One resource type's rows (a ``scim.storage.ResourceStorage``) in ``session``."""

    rtype: ResourceType
    model: Any
    translator: Translator

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reads --------------------------------------------------------------------------

    def get(self, resource_id: str) -> Any:
        return self.session.get(self.model, resource_id) if len(resource_id) <= MAX_ID else None

    def get_for_write(self, resource_id: str, *, deleting: bool = False) -> Any:
        """The row re-read for a read-modify-write, locked until the transaction ends.

        PostgreSQL: ``FOR NO KEY UPDATE`` for a replace or patch, which still lets other
        writers add this resource to a group (their foreign key check takes ``KEY SHARE``),
        so two groups adding each other cannot deadlock; ``FOR UPDATE`` for a delete, which
        waits for those adds to commit and then cascades their rows away."""
        if len(resource_id) > MAX_ID:
            return None
        lock_for_write(self.session)
        return self.session.get(self.model, resource_id, populate_existing=True,
                                with_for_update=True if deleting else {"key_share": True})

    def search(self, query: Query) -> tuple[int, list[Any]]:
        condition = self.translator.where(query.filter) if query.filter is not None else None
        if query.count <= 0:
            return self._count(condition), []
        # One statement for the page's ids and the total: COUNT(*) OVER () is computed over
        # every matching row before OFFSET/LIMIT, so it carries only the id (and the sort
        # key), never the stored documents; the page's rows are then read by id.
        stmt = select(self.model.id, func.count().over().label("total"))
        if condition is not None:
            stmt = stmt.where(condition)
        stmt = stmt.order_by(*self._order(query)).offset(query.start_index - 1).limit(query.count)
        found = self.session.execute(stmt).all()
        if not found:  # past the end (or nothing matches): the window had no row to ride on
            return (0 if query.start_index == 1 else self._count(condition)), []
        ids = [row.id for row in found]
        rows = {row.id: row for row in self.session.scalars(select(self.model).where(self.model.id.in_(ids)))}
        return found[0].total, [rows[i] for i in ids if i in rows]

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

    def related(self, ids: list[str]) -> dict[str, list[Member]]:
        raise NotImplementedError

    # --- writes -------------------------------------------------------------------------

    def insert(self, document: dict[str, Any], actor: str | None) -> Any:
        row = self.model(id=str(uuid.uuid4()), version=0, created_by=actor)
        self._write(row, document, actor)
        return row

    def update(self, record: Any, document: dict[str, Any], actor: str | None) -> Any:
        self._write(record, document, actor)
        return record

    def delete(self, record: Any, actor: str | None) -> None:
        self.session.add(ScimDeletion(
            resource_type=self.rtype.name, resource_id=record.id, resource=record.resource,
            name=record.resource.get("userName") or record.resource.get("displayName") or "",
            deleted_by=actor))
        self.session.delete(record)
        self.session.flush()  # the foreign keys cascade to the resource's membership rows

    def _write(self, row: Any, document: dict[str, Any], actor: str | None) -> None:
        stored = dict(document)
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
            raise NameTaken(stored.get(self.rtype.key_attribute or "")) from exc
        self.after_write(row, stored, related)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:  # a member deleted since _member_types looked it up
            raise MembersDeleted() from exc

    def fill(self, row: Any, stored: dict[str, Any]) -> Any:
        """Set the indexed columns from ``stored``; return (and take out of ``stored``)
        what lives in related rows."""
        raise NotImplementedError

    def after_write(self, row: Any, stored: dict[str, Any], related: Any) -> None:
        """Bring the related rows (values, memberships) in step with the resource."""


class SqlUsers(SqlStorage):
    rtype = user_type()
    model = ScimUser
    translator = user_translator()

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
            value_row(row.id, attribute.name, element)
            for attribute in self.rtype.schema.attributes.values()
            if attribute.multi_valued and attribute.name != "groups"
            for element in stored.get(attribute.name, [])
        ]
        self.session.add_all(values)

    def related(self, ids: list[str]) -> dict[str, list[Member]]:
        groups: dict[str, list[Member]] = {}
        for chunk in _chunks(ids):
            rows = self.session.execute(
                select(ScimGroupMember.member_id, ScimGroup.id, ScimGroup.display_name)
                .join(ScimGroup, ScimGroup.id == ScimGroupMember.group_id)
                .where(ScimGroupMember.member_id.in_(chunk))
                .order_by(ScimGroup.display_name_key)
            )
            for member_id, group_id, name in rows:
                groups.setdefault(member_id, []).append(Member(group_id, "Group", display=name))
        return groups


def value_row(user_id: str, attribute: str, element: Any) -> ScimUserValue:
    """The ``scim_user_values`` row of one element of a multi-valued attribute."""
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


class SqlGroups(SqlStorage):
    rtype = group_type()
    model = ScimGroup
    translator = group_translator()

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
            raise UnknownMembers(missing)
        if group_id in found:
            raise SelfMember()
        return found

    def related(self, ids: list[str]) -> dict[str, list[Member]]:
        members: dict[str, list[Member]] = {}
        for chunk in _chunks(ids):
            rows = self.session.scalars(
                select(ScimGroupMember).where(ScimGroupMember.group_id.in_(chunk))
                .order_by(ScimGroupMember.group_id, ScimGroupMember.member_id)
            )
            for row in rows:
                members.setdefault(row.group_id, []).append(
                    Member(row.member_id, row.member_type, display=row.display, ref=row.ref))
        return members


def _chunks(items: Sequence[str] | list[str]) -> Iterable[list[str]]:
    items = list(items)
    for start in range(0, len(items), MEMBER_CHUNK):
        yield items[start:start + MEMBER_CHUNK]
