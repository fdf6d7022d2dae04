"""Creating a user or group so that a retry never makes a duplicate, for every target.

A 409 means it exists: adopt it (look it up by userName or name, then change only what
differs). A create whose outcome is unknown (timed out, 5xx) is looked up before it is
sent again, since it may have been applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from sync.targets.base import AttributeValue, BIGroup, BIUser, UserChanges, UserRef
from sync.targets.errors import Conflict, OutcomeUnknown

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


def adopt_user(user: BIUser, display_name: str, attributes: Mapping[str, AttributeValue],
               update: Callable[[UserRef, UserChanges], BIUser]) -> BIUser:
    """Make ``user`` active with this name and these attribute values, changing only what
    differs (attributes not named are left alone)."""
    changes = UserChanges(
        display_name=display_name if user.display_name != display_name else None,
        active=True if not user.active else None,
        attributes={k: v for k, v in attributes.items() if user.attributes.get(k) != v} or None)
    return user if changes.is_empty() else update(user.ref, changes)


def adopt_group(group: BIGroup, member_ids: frozenset[str],
                add_members: Callable[[str, Iterable[str]], None]) -> BIGroup:
    """Add the members ``group`` lacks; members it has beyond them are left alone."""
    missing = member_ids - group.member_ids
    if missing:
        add_members(group.id, missing)
    return BIGroup(group.id, group.name, group.member_ids | missing)
