"""The SCIM service over the SQL backend, in a caller's session and transaction.

``UserStore(session, base_url, on_write)`` is what the endpoint, the planner and the tests
hold: the protocol's rules (``scim.resource_service``) over the identity store's tables
(``scim.sqlstorage``), with the write hook called in ``session``'s transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlmodel import Session

from scim.resource_service import GroupService, ScimWrite, UserService
from scim.sqlstorage import SqlGroups, SqlStorage, SqlUsers

__all__ = ["STORES", "GroupStore", "ScimWrite", "UserStore", "WriteHook"]

WriteHook = Callable[[Session, ScimWrite], None]


class InSession:
    """A service whose storage is the SQL backend in ``session``."""

    storage_type: type[SqlStorage]

    def __init__(self, session: Session, base_url: str, on_write: WriteHook | None = None) -> None:
        hook = None if on_write is None else partial(on_write, session)
        super().__init__(self.storage_type(session), base_url, hook)  # type: ignore[call-arg]


class UserStore(InSession, UserService):
    storage_type = SqlUsers


class GroupStore(InSession, GroupService):
    storage_type = SqlGroups


STORES: dict[str, type[UserStore | GroupStore]] = {"Users": UserStore, "Groups": GroupStore}
