"""Users and groups keyed on their names, for every target.

A 409 on a create means it exists: adopt it (look it up by userName or name, then change
only what differs). A create whose outcome is unknown (timed out, 5xx) is looked up before
it is sent again, since it may have been applied. A cached user id is only a hint: on a
404 the user is looked up by userName (Omni may mint a new id on re-activation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from sync.targets.base import AttributeValue, BIGroup, BIUser, UserChanges, UserRef
from sync.targets.errors import Conflict, NotFound, OutcomeUnknown

R = TypeVar("R")


def create_safely(post: Callable[[], R], find: Callable[[], R | None],
                  adopt: Callable[[R], R], *, what: str, attempts: int) -> R:
    for _ in range(attempts):
        try:
            return post()
        except (Conflict, OutcomeUnknown) as exc:
            existing = find()
            if existing is not None:
                return adopt(existing)
            if isinstance(exc, Conflict):
                raise
            # Not applied after all: send it again.
    raise OutcomeUnknown(f"creating {what} kept failing with an unknown outcome")


def with_user_id(user: UserRef, call: Callable[[str], R],
                 find: Callable[[str], BIUser | None]) -> R:
    """``call`` with the user's id: the cached one, and if that is stale (404) or unknown,
    the one found by userName."""
    if user.id is not None:
        try:
            return call(user.id)
        except NotFound:
            pass
    current = find(user.user_name)
    if current is None:
        raise NotFound(f"no user with userName {user.user_name}")
    return call(current.id)


def adopt_user(user: BIUser, display_name: str, attributes: Mapping[str, AttributeValue],
               update: Callable[[UserRef, UserChanges], BIUser]) -> BIUser:
    """Make ``user`` active with this name and these attribute values, changing only what
    differs (attributes not named are left alone). Re-activating sends every attribute:
    Omni may answer with a new, empty account."""
    changes = UserChanges(
        display_name=display_name if user.display_name != display_name else None,
        active=True if not user.active else None,
        attributes={k: v for k, v in attributes.items()
                    if not user.active or user.attributes.get(k) != v} or None)
    return user if changes.is_empty() else update(user.ref, changes)


def adopt_group(group: BIGroup, member_ids: frozenset[str],
                add_members: Callable[[str, Iterable[str]], None]) -> BIGroup:
    """Add the members ``group`` lacks; members it has beyond them are left alone."""
    missing = member_ids - group.member_ids
    if missing:
        add_members(group.id, missing)
    return BIGroup(group.id, group.name, group.member_ids | missing)
