"""The last-applied BI state in the store (``bi_users``, ``bi_groups``) <-> plan values.

Apply writes these rows in the transaction that marks a change done, so they say what the
BI platform holds as far as hr2bi knows; ``reconcile`` overwrites them with what the
platform actually holds before planning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.db import lock_for_write
from sync.models import BiGroupState, BiUserState, utcnow
from sync.plan.values import AppliedGroup, AppliedUser, key_of


def applied_users(session: Session, keys: Iterable[str] | None = None) -> dict[str, AppliedUser]:
    query = select(BiUserState)
    if keys is not None:
        query = query.where(BiUserState.user_name_key.in_(list(keys)))
    return {row.user_name_key: as_applied_user(row) for row in session.scalars(query)}


def applied_groups(session: Session) -> dict[str, AppliedGroup]:
    return {row.name_key: AppliedGroup(row.name, row.bi_id, dict(row.roles))
            for row in session.scalars(select(BiGroupState))}


def as_applied_user(row: BiUserState) -> AppliedUser:
    return AppliedUser(row.user_name, row.bi_id, row.active, row.display_name,
                       dict(row.attributes), frozenset(row.groups), dict(row.roles))


def user_row(session: Session, user_name: str) -> BiUserState | None:
    return session.get(BiUserState, key_of(user_name))


def locked_user_row(session: Session, user_name: str) -> BiUserState | None:
    """The user's row re-read for a read-modify-write (its groups, roles, attributes):
    locked until the transaction commits, so two applies updating one user (two push runs
    at once) cannot lose each other's change. Call before changing the row in this
    session: the re-read replaces what the session held."""
    lock_for_write(session)
    return session.get(BiUserState, key_of(user_name), with_for_update=True, populate_existing=True)


def locked_group_row(session: Session, name: str) -> BiGroupState | None:
    lock_for_write(session)
    return session.get(BiGroupState, key_of(name), with_for_update=True, populate_existing=True)


def group_row(session: Session, name: str) -> BiGroupState | None:
    return session.get(BiGroupState, key_of(name))


def user_snapshot(row: BiUserState | None) -> dict[str, Any] | None:
    """A user row as an audit event's ``before``/``after``."""
    if row is None:
        return None
    return {"userName": row.user_name, "id": row.bi_id, "active": row.active,
            "displayName": row.display_name, "attributes": dict(row.attributes),
            "groups": sorted(row.groups), "roles": dict(row.roles)}


def save_user(session: Session, user_name: str, **values: Any) -> BiUserState:
    """Create or update a user row with ``values`` (JSON columns are replaced whole)."""
    row = user_row(session, user_name) or BiUserState(user_name_key=key_of(user_name),
                                                      user_name=user_name)
    return _save(session, row, values)


def save_group(session: Session, name: str, **values: Any) -> BiGroupState:
    row = group_row(session, name) or BiGroupState(name_key=key_of(name), name=name)
    return _save(session, row, values)


def _save(session: Session, row: Any, values: dict[str, Any]) -> Any:
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)  # a no-op for a row the session already holds
    return row


def set_membership(session: Session, group: str, user_names: Iterable[str], member: bool) -> None:
    """Record ``group`` on (or off) each user's row."""
    wanted = key_of(group)
    for user_name in user_names:
        row = locked_user_row(session, user_name)
        if row is None:
            continue
        kept = [g for g in row.groups if key_of(g) != wanted]
        row.groups = sorted([*kept, group]) if member else kept
        row.updated_at = utcnow()


def replace_all(session: Session, users: Mapping[str, AppliedUser],
                groups: Mapping[str, AppliedGroup]) -> None:
    """Reconcile: the store's state becomes exactly what the platform holds."""
    for row in session.scalars(select(BiUserState)):
        if row.user_name_key not in users:
            session.delete(row)
    for row in session.scalars(select(BiGroupState)):
        if row.name_key not in groups:
            session.delete(row)
    session.flush()
    for u in users.values():
        save_user(session, u.user_name, bi_id=u.bi_id, active=u.active, display_name=u.display_name,
                  attributes=dict(u.attributes), groups=sorted(u.groups), roles=dict(u.roles))
    for g in groups.values():
        save_group(session, g.name, bi_id=g.bi_id, roles=dict(g.roles))
